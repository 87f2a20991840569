"""License benchmarks, every ratio measured in the same run (localhost only, bounded loops):

1. offline verifications per second (goal ≥ 5,000/s);
2. PDF certificate warm render p50 (goal ≤ 300 ms), and what its PAdES signature adds (signing, validation);
   with --engines, the widest certificate (every permit of the industry with the most) by each candidate way of
   drawing it: CPU ms p50/p95 per certificate, file size and ratio to the previous render (goal ≤ 80 ms);
3. GET /v/<token> requests per second vs an empty endpoint on the same uvicorn server (goal ≥ 0.5);
4. verify latency (signature + live status lookup) with 10k vs --large licenses in PostgreSQL (goal ≤ 1.5).

    .venv/bin/python bench/bench_licenses.py                 # --large 200000: a few minutes
    .venv/bin/python bench/bench_licenses.py --large 1000000 # the issue's 1M rows
    .venv/bin/python bench/bench_licenses.py --engines       # the certificate's candidates only

PostgreSQL: --postgres-url or ONELICENSE_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the benchmark works in a schema of its own and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing import Queue
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from onelicense.demo.sample import widest_permits  # noqa: E402
from onelicense.forms.catalog import get_catalog  # noqa: E402
from onelicense.licenses.document import LicenseDocument, PermitEntry, numbered_permits  # noqa: E402
from onelicense.licenses.document_keys import load_certificate, local_signing_files  # noqa: E402
from onelicense.licenses.identifier import build_identifier  # noqa: E402
from onelicense.licenses.keys import KeySet, load_keyset  # noqa: E402
from onelicense.licenses.numbering import format_number  # noqa: E402
from onelicense.licenses.pdf import render_pdf  # noqa: E402
from onelicense.licenses.pdf_signature import check_document_signature, sign_pdf  # noqa: E402
from onelicense.licenses.pdf_weasyprint import render_pdf_weasyprint  # noqa: E402
from onelicense.licenses.qr import verify_url  # noqa: E402
from onelicense.licenses.status import validity_end  # noqa: E402
from onelicense.licenses.token import sign_token, verify_token  # noqa: E402

REGION = "500107"
YEAR = 2025
ISSUED_AT = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
PERMITS_PER_LICENSE = 3
DEFAULT_PG = os.environ.get("ONELICENSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def document(serial: int) -> LicenseDocument:
    """The same realistic license the rows in the database describe (holder 经营者<serial>, 3 permits)."""
    catalog = get_catalog()
    number = format_number(REGION, YEAR, serial)
    codes = list(catalog.permits)[:PERMITS_PER_LICENSE]
    issued_on = ISSUED_AT.date()
    permits = [
        PermitEntry(
            code=code,
            name=catalog.permits[code].name,
            department_code=catalog.permits[code].department,
            department_name=catalog.departments[catalog.permits[code].department].name,
            number="",
            issued_on=issued_on,
            valid_until=validity_end(issued_on, catalog.permits[code].validity_years),
        )
        for code in codes
    ]
    industry = list(catalog.industries.values())[serial % len(catalog.industries)]
    return LicenseDocument(
        number=number,
        identifier=build_identifier("11500107000000000P001", "11500107000000000P", number, 1),  # local/test values
        holder_name=f"重庆市渝北区经营者{serial}有限公司",
        uscc=f"91500107MA{serial:07d}0",
        legal_representative="张三明",
        business_address="重庆市渝北区金龙路1号",
        industry_code=industry.code,
        industry_name=industry.name,
        issued_at=ISSUED_AT,
        authority_name="重庆高新区行政审批局",
        permits=numbered_permits(number, permits),
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------------------------- offline


def bench_offline(keyset: KeySet, count: int) -> float:
    token = sign_token(document(1).signed_content(), keyset)
    for _ in range(200):
        verify_token(token, keyset)
    started = time.perf_counter()
    for _ in range(count):
        verify_token(token, keyset)
    return count / (time.perf_counter() - started)


def bench_pdf(keyset: KeySet, renders: int) -> tuple[float, float]:
    doc = document(1)
    url = verify_url("http://127.0.0.1:8000", sign_token(doc.signed_content(), keyset))
    render_pdf(doc, url, REPO / "templates")  # warm: fonts scanned, template compiled
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        render_pdf(doc, url, REPO / "templates")
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, percentile(times, 0.9) * 1000


def bench_signing(keyset: KeySet, folder: Path, rounds: int) -> tuple[float, float, float]:
    """The PAdES signature of a rendered certificate (the local P-256 identity, as the render pool signs), and its
    validation against the local root: p50 and p90 of signing, p50 of validating, in ms."""
    doc = document(1)
    pdf = render_pdf(doc, verify_url("http://127.0.0.1:8000", sign_token(doc.signed_content(), keyset)))
    files = local_signing_files(folder, doc.authority_name)
    roots = [load_certificate(files.chain[0])]
    signed = sign_pdf(pdf, files)  # warm: key and certificates loaded
    signing, checking = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        signed = sign_pdf(pdf, files)
        signing.append(time.perf_counter() - started)
        started = time.perf_counter()
        check_document_signature(signed, roots, {})
        checking.append(time.perf_counter() - started)
    return (
        statistics.median(signing) * 1000,
        percentile(signing, 0.9) * 1000,
        statistics.median(checking) * 1000,
    )


# ---------------------------------------------------------------------------------------------- engines


def widest_document() -> LicenseDocument:
    """Every permit of the industry with the most (宾馆: 19 permits, two pages): the costliest certificate."""
    from dataclasses import replace

    catalog = get_catalog()
    industry = max(catalog.industries.values(), key=lambda i: len(i.permits))
    number = format_number(REGION, YEAR, 9_999_999)
    permits = widest_permits(number, ISSUED_AT.date())
    return replace(
        document(9_999_999),
        industry_code=industry.code,
        industry_name=industry.name,
        permits=permits,
    )


def _weasyprint(*, small_faces: bool = True, lean_ua: bool = True, **options: object) -> Callable[..., bytes]:
    """render_pdf with some of its per-process work undone (as before) or WeasyPrint options changed."""
    import functools

    from weasyprint.html import UA_STYLESHEET

    from onelicense.licenses import pdf_weasyprint as pdf_module

    def render(doc: LicenseDocument, url: str) -> bytes:
        saved = pdf_module._small_faces, pdf_module._certificate_ua
        if not small_faces:
            pdf_module._small_faces = lambda: None  # type: ignore[assignment]
        if not lean_ua:
            pdf_module._certificate_ua = lambda: [UA_STYLESHEET]  # type: ignore[assignment]
        try:
            if not options:
                return render_pdf_weasyprint(doc, url)
            meta = pdf_module.certificate_metadata(doc)
            html = pdf_module.render_license_html(doc, url, None, meta)
            font_config, stylesheets = pdf_module._fonts_for(doc)
            settings: dict[str, object] = {"pdf_tags": True, **options}
            pdf: bytes = pdf_module._CertificateHTML(string=html, base_url=str(REPO / "templates")).write_pdf(
                font_config=font_config,
                stylesheets=stylesheets,
                finisher=functools.partial(pdf_module._add_xmp, meta),
                **settings,
            )
            return pdf
        finally:
            pdf_module._small_faces, pdf_module._certificate_ua = saved  # type: ignore[method-assign]

    return render


def _typst_without_our_metadata() -> Callable[..., bytes]:
    """render_pdf without the rewrite that puts our Info dictionary and XMP in place of Typst's: what it costs."""
    from onelicense.licenses import pdf as typst_module

    def render(doc: LicenseDocument, url: str) -> bytes:
        saved = typst_module.with_metadata
        typst_module.with_metadata = lambda pdf, meta: pdf  # type: ignore[assignment]
        try:
            return render_pdf(doc, url)
        finally:
            typst_module.with_metadata = saved

    return render


def _reportlab() -> Callable[..., bytes] | str | None:
    """ReportLab can embed only TrueType outlines: the reason it is no candidate for Noto CJK (CFF outlines)."""
    try:
        from reportlab.pdfbase.ttfonts import TTFError, TTFont
    except ImportError:
        return None
    from onelicense.licenses.font_subset import find_face

    face = find_face("Noto Sans CJK SC:regular", "Noto Sans CJK SC")
    try:
        TTFont(
            "NotoSansCJKsc",
            str(face.path) if face else "NotoSansCJK-Regular.ttc",
            subfontIndex=face.index if face else 0,
        )
    except TTFError as exc:
        return str(exc).splitlines()[0][:90]
    return "embeds Noto CJK: not drawn here"


def bench_engines(keyset: KeySet, rounds: int, signing_folder: Path) -> None:
    """Every candidate on the widest certificate, in alternation (background load weighs on each alike): CPU
    time per certificate (time.process_time, this process and its threads), p50 and p95, and file size."""
    doc = widest_document()
    url = verify_url("http://127.0.0.1:8000", sign_token(doc.signed_content(), keyset))
    files = local_signing_files(signing_folder, doc.authority_name)
    weasyprint = _weasyprint()
    candidates: dict[str, Callable[..., bytes]] = {
        "WeasyPrint as before (full fonts, stock UA sheet)": _weasyprint(small_faces=False, lean_ua=False),
        "WeasyPrint + small pre-cut fonts": _weasyprint(lean_ua=False),
        "WeasyPrint + UA sheet without ::marker/notes": _weasyprint(small_faces=False),
        "WeasyPrint, both (render_pdf_weasyprint, the reference)": weasyprint,
        "  + uncompressed_pdf": _weasyprint(uncompressed_pdf=True),
        "  + optimize_images": _weasyprint(optimize_images=True),
        "  without pdf_tags (not allowed)": _weasyprint(pdf_tags=False),
        "  + PAdES signature": lambda d, u: sign_pdf(weasyprint(d, u), files),
        "Typst (license.typ) = render_pdf now": render_pdf,
        "  without our Info/XMP rewrite": _typst_without_our_metadata(),
        "  + PAdES signature = render_certificate now": lambda d, u: sign_pdf(render_pdf(d, u), files),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    sizes: dict[str, int] = {}
    for name, render in candidates.items():  # warm: fonts cut and scanned, templates compiled
        sizes[name] = len(render(doc, url))
    for _ in range(rounds):
        for name, render in candidates.items():
            started = time.process_time()
            render(doc, url)
            times[name].append(time.process_time() - started)
    before = statistics.median(times[next(iter(candidates))])
    print(f"certificate of {len(doc.permits)} permits, CPU ms per certificate over {rounds} rounds (goal ≤ 80 ms):")
    print("| candidate | p50 ms | p95 ms | ÷ before | PDF kB |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        p50 = statistics.median(values)
        print(
            f"| {name.strip()} | {p50 * 1000:.0f} | {percentile(values, 0.95) * 1000:.0f} | {p50 / before:.2f}"
            f" | {sizes[name] / 1000:.0f} |"
        )
    reportlab = _reportlab()
    if reportlab is not None:
        print(f"| ReportLab | – | – | – | cannot embed Noto CJK: {reportlab} |")


# ---------------------------------------------------------------------------------------------- database


LICENSE_COLUMNS = [
    "id",
    "number",
    "holder_name",
    "uscc",
    "legal_representative",
    "business_address",
    "industry_code",
    "industry_name",
    "authority_name",
    "issued_at",
    "status",
    "key_id",
    "token",
    "version",
    "updated_at",
]
PERMIT_COLUMNS = [
    "id",
    "license_id",
    "position",
    "permit_code",
    "permit_name",
    "department_code",
    "department_name",
    "number",
    "issued_on",
    "valid_until",
    "mandatory",
    "status",
    "version",
    "updated_at",
]


def license_rows(first: int, last: int) -> Iterator[tuple[object, ...]]:
    """Rows of licenses first..last as `document(serial)` describes them; the token column is a placeholder."""
    industries = list(get_catalog().industries.values())
    now = datetime.now(UTC)
    for serial in range(first, last + 1):
        industry = industries[serial % len(industries)]
        yield (
            f"{serial:032x}",
            format_number(REGION, YEAR, serial),
            f"重庆市渝北区经营者{serial}有限公司",
            f"91500107MA{serial:07d}0",
            "张三明",
            "重庆市渝北区金龙路1号",
            industry.code,
            industry.name,
            "重庆高新区行政审批局",
            ISSUED_AT,
            "01",
            "bench",
            "bench",
            1,
            now,
        )


def permit_rows(first: int, last: int) -> Iterator[tuple[object, ...]]:
    catalog = get_catalog()
    meta = []
    for code in list(catalog.permits)[:PERMITS_PER_LICENSE]:
        spec = catalog.permits[code]
        valid_until = validity_end(ISSUED_AT.date(), spec.validity_years)
        meta.append((code, spec.name, spec.department, catalog.departments[spec.department].name, valid_until))
    now = datetime.now(UTC)
    for serial in range(first, last + 1):
        number = format_number(REGION, YEAR, serial)
        for position, (code, name, dept, dept_name, valid_until) in enumerate(meta, start=1):
            yield (
                f"{serial:028x}{position:04x}",
                f"{serial:032x}",
                position,
                code,
                name,
                dept,
                dept_name,
                f"{number}-{position:02d}",
                ISSUED_AT.date(),
                valid_until,
                True,
                "01",
                1,
                now,
            )


def bulk_insert(url: str, first: int, last: int, batch: int = 50_000) -> None:
    """Licenses first..last with 3 permits each: COPY on PostgreSQL, executemany on SQLite."""
    from onelicense.store.db import get_engine
    from onelicense.store.tables.license import License, LicensePermit

    engine = get_engine(url)
    for start in range(first, last + 1, batch):
        stop = min(last, start + batch - 1)
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
                for table, columns, rows in (
                    ("licenses", LICENSE_COLUMNS, license_rows(start, stop)),
                    ("license_permits", PERMIT_COLUMNS, permit_rows(start, stop)),
                ):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            with engine.begin() as connection:
                for table, columns, rows in (
                    (License.__table__, LICENSE_COLUMNS, license_rows(start, stop)),
                    (LicensePermit.__table__, PERMIT_COLUMNS, permit_rows(start, stop)),
                ):
                    connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])  # type: ignore[attr-defined]
    # what autovacuum does to a table that grew: statistics, visibility map and hint bits set, so the first
    # reader of each page does not pay for it
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


class Lookups:
    """verify_token + current_status on one database, timed a slice at a time so that two databases can be
    measured in alternation (background load then weighs on both alike)."""

    def __init__(self, url: str, keyset: KeySet, rows: int, lookups: int) -> None:
        from onelicense.store.db import get_session

        rng = random.Random(rows)
        self.keyset = keyset
        self.tokens = [sign_token(document(rng.randint(1, rows)).signed_content(), keyset) for _ in range(lookups)]
        self.session = get_session(url)
        self.times: list[float] = []
        self.run(self.tokens[:100], record=False)  # warm the pool and the statement cache

    def run(self, tokens: list[str], *, record: bool = True) -> None:
        from onelicense.store import license_queries

        for token in tokens:
            started = time.perf_counter()
            number = verify_token(token, self.keyset).content.number
            now = license_queries.current_status(self.session, number)
            elapsed = time.perf_counter() - started
            assert now.license.number == number and len(now.permits) == PERMITS_PER_LICENSE
            self.session.expunge_all()
            if record:
                self.times.append(elapsed)

    def p50_ms(self) -> float:
        return statistics.median(self.times) * 1000


def compare_lookups(small: Lookups, large: Lookups, rounds: int = 20) -> tuple[float, float]:
    step = max(1, len(small.tokens) // rounds)
    for start in range(0, len(small.tokens), step):
        small.run(small.tokens[start : start + step])
        large.run(large.tokens[start : start + step])
    small.session.close()
    large.session.close()
    return small.p50_ms(), large.p50_ms()


# ---------------------------------------------------------------------------------------------- HTTP


def bench_app() -> object:
    """The real app plus empty and profiling endpoints (a factory, so that uvicorn's worker processes each build
    one)."""
    from onelicense.licenses.keys import cached_public_keyset
    from onelicense.services.licenses import LicenseConfig
    from onelicense.store import license_queries
    from onelicense.store.db import read_scope
    from onelicense.web.app import create_app

    app = create_app()

    @app.get("/bench/empty")
    def empty() -> dict[str, bool]:
        """The floor of a sync endpoint (thread pool), the execution model of /v/<token>."""
        return {}

    @app.get("/bench/async-empty")
    async def async_empty() -> dict[str, bool]:
        """The floor of the framework itself, for context."""
        return {}

    @app.get("/bench/signature/{token}")
    def signature(token: str) -> dict[str, bool]:
        """Profile step 1: the long URL and the signature check only."""
        verify_token(token, cached_public_keyset(LicenseConfig.from_settings().keys_dir))
        return {}

    @app.get("/bench/lookup/{token}")
    def lookup(token: str) -> dict[str, bool]:
        """Profile step 2: the signature and the live-status lookup, nothing rendered."""
        verified = verify_token(token, cached_public_keyset(LicenseConfig.from_settings().keys_dir))
        with read_scope() as session:
            license_queries.current_status(session, verified.content.number)
        return {}

    return app


def serve(port: int, workers: int) -> None:
    """Child process: uvicorn serving bench_app with `workers` worker processes."""
    from onelicense.web.serving import run_api

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    run_api(
        "bench_licenses:bench_app",
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _count(
    base: str, paths: list[str], seconds: float, workers: int, headers: dict[str, str] | None = None
) -> tuple[int, float]:
    """(requests completed, elapsed seconds) with `workers` keep-alive clients for `seconds`.

    The client is the standard library's http.client: a QR's URL is ~460 characters, and a heavier client spends
    more CPU parsing it than the server spends verifying it, which on two cores would measure the client."""
    import http.client
    from urllib.parse import urlsplit

    host, port = urlsplit(base).hostname, urlsplit(base).port
    done = [0] * workers
    stop_at = time.perf_counter() + seconds

    def run(index: int) -> None:
        connection = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=10)
        try:
            i = index
            while time.perf_counter() < stop_at:
                connection.request("GET", paths[i % len(paths)], headers=headers or {})
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status
                done[index] += 1
                i += workers
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), time.perf_counter() - started


def _count_process(base: str, paths: list[str], seconds: float, threads: int, out: Queue[tuple[int, float]]) -> None:
    out.put(_count(base, paths, seconds, threads))


def _count_processes(base: str, paths: list[str], seconds: float, processes: int) -> float:
    """Requests per second from `processes` client processes of 2 threads each (no client-side GIL ceiling)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[int, float]] = context.Queue()
    children = [
        context.Process(target=_count_process, args=(base, paths[i::processes] or paths, seconds, 2, out))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    results = [out.get(timeout=seconds + 60) for _ in children]
    for child in children:
        child.join()
    return sum(count for count, _ in results) / max(elapsed for _, elapsed in results)


def _start_server(url: str, data_dir: Path, uvicorn_workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ONELICENSE_DATABASE_URL": url, "ONELICENSE_DATA_DIR": str(data_dir)}
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--serve-workers", str(uvicorn_workers)], env=env, cwd=REPO
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/bench/empty", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return child, base


def _stop_server(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def bench_scaling(
    url: str, data_dir: Path, keyset: KeySet, rows: int, seconds: float, clients: int
) -> dict[int, float]:
    """/v/<token> requests per second with 1 and with 2 uvicorn worker processes, clients in processes of their own."""
    rng = random.Random(11)
    paths = [f"/v/{sign_token(document(rng.randint(1, rows)).signed_content(), keyset)}" for _ in range(200)]
    rates: dict[int, float] = {}
    for uvicorn_workers in (1, 2):
        child, base = _start_server(url, data_dir, uvicorn_workers)
        try:
            _count_processes(base, paths, 1.0, clients)  # warm-up: every worker process reads fonts, keys, pools
            rates[uvicorn_workers] = _count_processes(base, paths, seconds, clients)
        finally:
            _stop_server(child)
    return rates


def bench_http(
    url: str, data_dir: Path, keyset: KeySet, rows: int, seconds: float, workers: int, rounds: int = 10
) -> dict[str, float]:
    """Requests per second of the empty endpoints and of /v/<token> on one uvicorn server, measured in
    alternating short rounds so that a change of background load weighs on each alike."""
    child, base = _start_server(url, data_dir, 1)
    try:
        rng = random.Random(7)
        tokens = [sign_token(document(rng.randint(1, rows)).signed_content(), keyset) for _ in range(200)]
        html = {"Accept": "text/html"}
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "empty": (["/bench/empty"], {}),
            "async_empty": (["/bench/async-empty"], {}),
            "signature": ([f"/bench/signature/{token}" for token in tokens], {}),
            "lookup": ([f"/bench/lookup/{token}" for token in tokens], {}),
            "verify_json": ([f"/v/{token}" for token in tokens], {"Accept": "application/json"}),
            "verify": ([f"/v/{token}" for token in tokens], html),
        }
        for paths, headers in cases.values():  # warm-up
            _count(base, paths, 0.5, workers, headers)
        totals = {name: [0, 0.0] for name in cases}
        for _ in range(rounds):
            for name, (paths, headers) in cases.items():
                count, elapsed = _count(base, paths, seconds / rounds, workers, headers)
                totals[name][0] += count
                totals[name][1] += elapsed
        return {name: count / elapsed for name, (count, elapsed) in totals.items()}
    finally:
        _stop_server(child)


# ---------------------------------------------------------------------------------------------- main


def _schema_url(admin_url: str) -> tuple[str, Callable[[], None]]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000, help="licenses for the small table (10k)")
    parser.add_argument("--large", type=int, default=200_000, help="licenses for the large table (issue: 1M)")
    parser.add_argument("--lookups", type=int, default=2_000, help="verify lookups per table size")
    parser.add_argument("--offline", type=int, default=20_000, help="offline verifications")
    parser.add_argument("--renders", type=int, default=20, help="PDF renders")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each HTTP measurement")
    parser.add_argument("--workers", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--client-processes", type=int, default=4, help="client processes for the worker scaling")
    parser.add_argument("--only-http", action="store_true", help="only the HTTP measurements (SQLite, PostgreSQL 10k)")
    parser.add_argument("--only-pdf", action="store_true", help="only offline verification, rendering and signing")
    parser.add_argument("--engines", action="store_true", help="only the certificate's candidate renderers")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.serve_workers)
        return

    with tempfile.TemporaryDirectory(prefix="bench-licenses-") as tmp:
        data_dir = Path(tmp) / "data"
        os.environ["ONELICENSE_DATA_DIR"] = str(data_dir)
        keyset = load_keyset(data_dir / "keys")
        token = sign_token(document(1).signed_content(), keyset)
        print(f"token: {len(token)} digits; QR {verify_url('http://127.0.0.1:8000', token)[:40]}…")
        if args.engines:
            bench_engines(keyset, args.renders, data_dir / "keys" / "document")
            return

        if not args.only_http:
            rate = bench_offline(keyset, args.offline)
            print(f"offline verifications: {rate:,.0f}/s (goal ≥ 5,000/s) {'OK' if rate >= 5000 else 'MISSED'}")
            p50, p90 = bench_pdf(keyset, args.renders)
            print(
                f"PDF warm render: p50 {p50:.0f} ms, p90 {p90:.0f} ms (goal p50 ≤ 300 ms)"
                f" {'OK' if p50 <= 300 else 'MISSED'}"
            )
            sign50, sign90, check50 = bench_signing(keyset, data_dir / "keys" / "document", args.renders)
            print(
                f"PDF signature (PAdES, ECDSA P-256, SHA-256): signing p50 {sign50:.0f} ms, p90 {sign90:.0f} ms"
                f" ({sign50 / p50:.0%} of a render); validation p50 {check50:.0f} ms"
            )
        if args.only_pdf:
            return

        from onelicense.store.db import dispose_engine, migrate

        def http(label: str, url: str) -> None:
            rates = bench_http(url, data_dir, keyset, args.small, args.seconds, args.workers)
            ratio = rates["verify"] / rates["empty"]
            print(
                f"HTTP on {label} ({args.workers} clients, 1 uvicorn worker): empty {rates['empty']:,.0f} req/s,"
                f" /v/<token> {rates['verify']:,.0f} req/s, ratio {ratio:.2f} (goal ≥ 0.5)"
                f" {'OK' if ratio >= 0.5 else 'MISSED'}; async empty {rates['async_empty']:,.0f} req/s,"
                f" ratio to it {rates['verify'] / rates['async_empty']:.2f}"
            )
            steps = ("empty", "signature", "lookup", "verify_json", "verify")
            print(
                "  profile, server+client time per request: "
                + " → ".join(f"{step} {1000 / rates[step]:.2f} ms" for step in steps)
            )

        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(sqlite_url)
        bulk_insert(sqlite_url, 1, args.small)
        http(f"SQLite (the default database), {args.small:,} licenses", sqlite_url)
        dispose_engine(sqlite_url)

        def scaling(label: str, url: str) -> None:
            rates = bench_scaling(url, data_dir, keyset, args.small, args.seconds, args.client_processes)
            ratio = rates[2] / rates[1]
            print(
                f"/v/<token> on {label} ({args.client_processes} client processes): 1 uvicorn worker"
                f" {rates[1]:,.0f} req/s, 2 workers {rates[2]:,.0f} req/s, ratio {ratio:.2f} (goal ≥ 1.6)"
                f" {'OK' if ratio >= 1.6 else 'MISSED'}"
            )

        scaling("SQLite", sqlite_url)
        dispose_engine(sqlite_url)

        small_url, drop_small = _schema_url(args.postgres_url)
        large_url, drop_large = _schema_url(args.postgres_url)
        try:
            for url, rows in ((small_url, args.small), (large_url, args.large)):
                migrate(url)
                started = time.perf_counter()
                bulk_insert(url, 1, rows)
                print(f"PostgreSQL: {rows:,} licenses loaded in {time.perf_counter() - started:.1f} s")
            http(f"PostgreSQL, {args.small:,} licenses", small_url)
            scaling("PostgreSQL", small_url)
            if args.only_http:
                return
            small, large = compare_lookups(
                Lookups(small_url, keyset, args.small, args.lookups),
                Lookups(large_url, keyset, args.large, args.lookups),
            )
            ratio = large / small
            print(
                f"verify latency p50: {small:.2f} ms at {args.small:,} vs {large:.2f} ms at {args.large:,} licenses,"
                f" ratio {ratio:.2f} (goal ≤ 1.5) {'OK' if ratio <= 1.5 else 'MISSED'}"
            )
        finally:
            for url, drop in ((small_url, drop_small), (large_url, drop_large)):
                dispose_engine(url)
                drop()


if __name__ == "__main__":
    main()
