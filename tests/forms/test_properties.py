"""Property-based: generated valid forms pass; any single corruption is reported against exactly that field."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onelicense.forms.catalog import get_catalog
from onelicense.forms.errors import ValidationFailed
from onelicense.forms.merge import merge_form
from onelicense.forms.validation import validate_submission
from tests.forms.strategies import corrupt, valid_submission

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _full_forms():
    catalog = get_catalog()
    forms = []
    for industry in catalog.industries.values():
        answers = {k: True for k in industry.condition_keys if catalog.fields[k].type == "boolean"}
        forms.append(merge_form(industry.code, answers, catalog))
    return forms


FORMS = _full_forms()


@pytest.mark.parametrize("form", FORMS, ids=[f.industry.code for f in FORMS])
@_SETTINGS
@given(data=st.data())
def test_generated_valid_forms_pass(form, data):
    answers, materials = data.draw(valid_submission(form))
    result = validate_submission(form, answers, materials)
    for key, value in answers.items():
        if isinstance(value, str) and form.field(key).spec.type in ("text", "address"):
            assert result.answers[key] == value  # text kept exactly as typed


@pytest.mark.parametrize("form", FORMS, ids=[f.industry.code for f in FORMS])
@_SETTINGS
@given(data=st.data())
def test_any_single_corruption_is_reported_against_that_field(form, data):
    answers, materials = data.draw(valid_submission(form))
    keys = sorted(answers)
    key = data.draw(st.sampled_from(keys))
    spec = form.field(key).spec
    how = data.draw(
        st.sampled_from(["value", "missing", "unknown"] if form.field(key).required else ["value", "unknown"])
    )
    if how == "value":
        answers[key] = data.draw(corrupt(spec, answers[key]))
        expected = key
    elif how == "missing":
        del answers[key]
        expected = key
    else:
        expected = "zz_" + key
        answers[expected] = answers[key]
    with pytest.raises(ValidationFailed) as info:
        validate_submission(form, answers, materials)
    assert [e.key for e in info.value.errors] == [expected]
    error = info.value.errors[0]
    assert error.reason and str(error).startswith(f"{error.label}（{expected}）")
    if how != "unknown":
        assert error.label == spec.label
