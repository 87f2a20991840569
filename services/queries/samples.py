"""示范文本 (seed item 一: 看得懂、填得准): the sample of a material, rendered as a PDF from the template the catalog
names (`sample:` in materials.yaml, templates in `templates/samples/`), once per process and templates folder."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from onelicense.errors import NotFound
from onelicense.licenses.pdf import render_html_pdf
from onelicense.services import catalog as catalogs
from onelicense.templating import environment


def sample_pdf(material_code: str) -> tuple[str, bytes]:
    """(download name, PDF bytes) of a material's sample; NotFound when the catalog offers none."""
    material = catalogs.catalog().materials.get(material_code)
    if material is None or material.sample is None:
        raise NotFound("该材料没有示范文本")
    return f"{material.name}（示范文本）.pdf", _rendered(material_code, material.sample, catalogs.templates_dir())


@functools.cache
def _rendered(material_code: str, template: str, templates_dir: Path | None) -> bytes:
    material = catalogs.catalog().materials[material_code]
    try:
        html = environment(templates_dir).get_template(f"samples/{template}").render(material=material)
    except jinja2.TemplateNotFound:
        raise NotFound("该材料的示范文本模板缺失") from None
    return render_html_pdf(html, templates_dir)
