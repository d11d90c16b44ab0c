"""The hosted checkout page's templates and assets: each state's section, labels and ARIA
wiring, no inline code (the page CSP), escaping, and the stylesheet's colour contrast."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import flask
import pytest
from flask import Flask

from apg.checkout.view import CheckoutView, Paybill, Urls

ASSETS_DIR = Path(__file__).resolve().parents[2] / "apg" / "checkout" / "assets"
PAGE_STATES = ("open", "waiting", "succeeded")
CLOSED_STATES = ("completed", "expired", "not_found")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    ancestors: tuple[str, ...]
    text: str = ""

    def has(self, name: str) -> bool:
        return name in self.attrs

    def get(self, name: str) -> str:
        return self.attrs.get(name) or ""


class Page(HTMLParser):
    """A rendered page, parsed: its elements in document order with their text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), tuple(e.tag for e in self._open))
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and all(e.get(name.replace("_", "-")) == value for name, value in attrs.items())
        ]

    def by_id(self, element_id: str) -> Element:
        (element,) = self.all(id=element_id)
        return element

    @property
    def text(self) -> str:
        return " ".join(self.by_id("checkout").text.split())


def make_view(**changes: Any) -> CheckoutView:
    urls = Urls(
        pay="/checkout/tok_1/pay",
        status="/checkout/tok_1/status",
        qr="/checkout/tok_1/qr.png",
        success="https://shop.example/paid?session_id=cs_1",
        cancel="https://shop.example/cart?session_id=cs_1",
        assets="/checkout/assets/",
    )
    view = CheckoutView(
        session_id="cs_1",
        merchant_name="Mama Mboga Groceries",
        amount=125_000,
        amount_text="KES 1,250",
        reference="INV-2024-00017",
        description="Weekly vegetables box",
        state="open",
        urls=urls,
        paybill=Paybill(kind="paybill", business_number="888880", account_number="CK7F3Q"),
    )
    url_changes = {k: changes.pop(k) for k in list(changes) if k in ("qr", "assets")}
    return dataclasses.replace(view, urls=dataclasses.replace(urls, **url_changes), **changes)


@pytest.fixture
def render(app: Flask) -> Callable[..., Page]:
    def render(**changes: Any) -> Page:
        view = make_view(**changes)
        template = "checkout/page.html" if view.state in PAGE_STATES else "checkout/closed.html"
        with app.test_request_context("/checkout/tok_1"):
            return Page(flask.render_template(template, view=view))

    return render


EVERY_PAGE = [
    pytest.param({"state": "open"}, id="open"),
    pytest.param({"state": "open", "phone": "07", "error": "Too short."}, id="open-error"),
    pytest.param({"state": "open", "message": "You cancelled.", "retry": True}, id="open-failed"),
    pytest.param({"state": "waiting", "message": "Prompt sent."}, id="waiting"),
    pytest.param({"state": "succeeded", "receipt": "SGH7K2L9QP"}, id="succeeded"),
    pytest.param({"state": "completed", "receipt": "SGH7K2L9QP"}, id="completed"),
    pytest.param({"state": "expired"}, id="expired"),
    pytest.param({"state": "not_found"}, id="not_found"),
]


# --- the state's section ------------------------------------------------------------------------


@pytest.mark.parametrize("state", PAGE_STATES + CLOSED_STATES)
def test_only_the_current_states_section_is_visible(
    render: Callable[..., Page], state: str
) -> None:
    page = render(state=state)
    sections = [e for e in page.elements if e.has("data-section")]
    visible = [e.get("data-section") for e in sections if not e.has("hidden")]
    assert visible == [state]
    assert page.by_id("checkout").get("data-state") == state


@pytest.mark.parametrize("state", PAGE_STATES)
def test_every_state_section_has_a_focusable_heading_for_the_script(
    render: Callable[..., Page], state: str
) -> None:
    page = render(state=state)
    for section in (e for e in page.elements if e.has("data-section")):
        heading = page.by_id(f"{section.get('data-section')}-title")
        assert heading.tag == "h2"
        assert heading.get("tabindex") == "-1"
        assert section.get("aria-labelledby") == heading.get("id")


@pytest.mark.parametrize(
    ("state", "shown"), [("open", True), ("waiting", True), ("succeeded", False)]
)
def test_fallbacks_and_cancel_show_until_the_payment_succeeds(
    render: Callable[..., Page], state: str, shown: bool
) -> None:
    page = render(state=state)
    assert page.by_id("fallbacks").has("hidden") is not shown
    assert page.by_id("cancel").has("hidden") is not shown
    (cancel,) = [a for a in page.all("a") if "Cancel and return to" in a.text]
    assert cancel.get("href") == "https://shop.example/cart?session_id=cs_1"
    assert "Mama Mboga Groceries" in cancel.text


# --- document, forms, CSP ------------------------------------------------------------------------


@pytest.mark.parametrize("changes", EVERY_PAGE)
def test_document_is_a_mobile_accessible_page(
    render: Callable[..., Page], changes: dict[str, Any]
) -> None:
    page = render(**changes)
    assert page.html.lstrip().lower().startswith("<!doctype html>")
    assert page.all("html")[0].get("lang") == "en"
    viewport = page.all("meta", name="viewport")
    assert viewport[0].get("content") == "width=device-width, initial-scale=1"
    assert len(page.all("h1")) == 1
    assert len(page.all("main")) == 1
    assert all(int(e.get("tabindex")) <= 0 for e in page.elements if e.has("tabindex"))
    for link in page.all("a"):
        assert link.get("href"), "a link goes somewhere (actions are <button>s)"


@pytest.mark.parametrize("changes", EVERY_PAGE)
def test_every_input_has_a_label(render: Callable[..., Page], changes: dict[str, Any]) -> None:
    page = render(**changes)
    labelled = {label.get("for") for label in page.all("label")}
    for element in page.all("input"):
        if element.get("type") != "hidden":
            assert element.get("id") in labelled


@pytest.mark.parametrize("changes", EVERY_PAGE)
def test_no_inline_script_style_or_handlers(
    render: Callable[..., Page], changes: dict[str, Any]
) -> None:
    page = render(**changes)
    assert not page.all("style")
    for script in page.all("script"):
        assert script.get("src") and not script.text.strip()
    for element in page.elements:
        for name in element.attrs:
            assert name != "style" and not name.startswith("on"), (element.tag, name)
        assert not element.get("href").lower().startswith("javascript:")


@pytest.mark.parametrize("changes", EVERY_PAGE)
def test_assets_come_from_the_views_assets_url(
    render: Callable[..., Page], changes: dict[str, Any]
) -> None:
    page = render(**changes, assets="/somewhere/else/")
    (stylesheet,) = page.all("link", rel="stylesheet")
    assert stylesheet.get("href") == "/somewhere/else/checkout.css"
    scripts = [s.get("src") for s in page.all("script")]
    script_expected = changes["state"] in PAGE_STATES
    assert scripts == (["/somewhere/else/checkout.js"] if script_expected else [])


# --- the pay form --------------------------------------------------------------------------------


def test_the_phone_field_is_a_prefilled_telephone_input(render: Callable[..., Page]) -> None:
    page = render(state="open", phone="0712345678")
    phone = page.by_id("phone")
    assert (phone.get("type"), phone.get("inputmode"), phone.get("autocomplete")) == (
        "tel",
        "tel",
        "tel",
    )
    assert (phone.get("name"), phone.get("value")) == ("phone", "0712345678")
    assert page.by_id("phone-hint").text == "e.g. 0712 345 678"
    form = page.by_id("pay-form")
    assert (form.get("method"), form.get("action")) == ("post", "/checkout/tok_1/pay")
    assert " ".join(page.by_id("pay-button").text.split()) == "Pay KES 1,250"
    assert page.by_id("pay-button").tag == "button"


def test_a_phone_error_is_wired_to_the_field(render: Callable[..., Page]) -> None:
    page = render(state="open", phone="07123", error="Enter a number like 0712 345 678.")
    phone, error = page.by_id("phone"), page.by_id("phone-error")
    assert phone.get("aria-invalid") == "true"
    assert "phone-error" in phone.get("aria-describedby").split()
    assert phone.has("autofocus")
    assert not error.has("hidden")
    assert "Enter a number like 0712 345 678." in error.text


def test_without_an_error_the_field_is_not_invalid(render: Callable[..., Page]) -> None:
    page = render(state="open")
    phone = page.by_id("phone")
    assert not phone.has("aria-invalid") and not phone.has("autofocus")
    assert phone.get("aria-describedby") == "phone-hint"
    assert page.by_id("phone-error").has("hidden")


def test_a_failed_attempt_is_an_alert_above_the_form_offering_to_try_again(
    render: Callable[..., Page],
) -> None:
    page = render(state="open", message="You cancelled the prompt.", retry=True)
    alert = page.by_id("open-message")
    assert alert.get("role") == "alert" and not alert.has("hidden")
    assert alert.text == "You cancelled the prompt."
    assert page.by_id("pay-form")
    assert page.by_id("pay-button").text.startswith("Try again")


def test_a_first_attempt_shows_no_alert(render: Callable[..., Page]) -> None:
    alert = render(state="open").by_id("open-message")
    assert alert.has("hidden") and not alert.text.strip()


# --- waiting, succeeded --------------------------------------------------------------------------


@pytest.mark.parametrize("state", PAGE_STATES + CLOSED_STATES)
def test_the_noscript_refresh_is_only_for_waiting(render: Callable[..., Page], state: str) -> None:
    page = render(state=state)
    refreshes = page.all("meta", http_equiv="refresh")
    if state == "waiting":
        (refresh,) = refreshes
        assert refresh.ancestors[-2:] == ("head", "noscript")
        assert refresh.get("content") == "5"
    else:
        assert not refreshes


def test_waiting_says_what_to_do_with_a_live_region_and_a_refresh_link(
    render: Callable[..., Page],
) -> None:
    page = render(state="waiting", message="We sent a prompt to 0712 ••• 678.")
    waiting = page.by_id("state-waiting")
    assert "Check your phone" in waiting.text
    assert "enter your m-pesa pin on the prompt for kes 1,250 to mama mboga" in " ".join(
        waiting.text.lower().split()
    )
    assert "We sent a prompt to 0712 ••• 678." in waiting.text
    assert page.by_id("live-status").get("aria-live") == "polite"
    (refresh,) = [a for a in page.all("a") if a.text == "Refresh"]
    assert refresh.get("href") == "/checkout/tok_1"


def test_succeeded_shows_the_receipt_and_links_back_to_the_merchant(
    render: Callable[..., Page],
) -> None:
    page = render(state="succeeded", receipt="SGH7K2L9QP")
    assert "Payment received" in page.by_id("state-succeeded").text
    assert page.by_id("receipt-number").text == "SGH7K2L9QP"
    link = page.by_id("return-link")
    assert link.get("href") == "https://shop.example/paid?session_id=cs_1"
    assert link.text == "Return to Mama Mboga Groceries"
    assert page.by_id("checkout").get("data-success-url") == link.get("href")


# --- fallbacks -----------------------------------------------------------------------------------


def test_paybill_steps_give_both_numbers_and_the_amount(render: Callable[..., Page]) -> None:
    page = render(state="open")
    paybill = page.by_id("fallback-paybill")
    assert paybill.tag == "details" and page.all("summary")[0].text == "Pay with Paybill"
    steps = " ".join(paybill.text.split())
    for words in ("Lipa na M-Pesa", "Pay Bill", "888880", "CK7F3Q", "1250", "PIN"):
        assert words in steps
    assert "This page updates when your payment arrives" in steps
    assert page.by_id("business-number").text == "888880"
    assert page.by_id("account-number").text == "CK7F3Q"


def test_a_till_is_buy_goods_without_an_account_number(render: Callable[..., Page]) -> None:
    till = Paybill(kind="till", business_number="5123456", account_number=None)
    page = render(state="open", paybill=till)
    steps = " ".join(page.by_id("fallback-paybill").text.split())
    assert "Pay with Till" in steps and "Buy Goods and Services" in steps
    assert "5123456" in steps and "Account number" not in steps


def test_the_qr_code_has_a_size_and_a_meaningful_alt(render: Callable[..., Page]) -> None:
    page = render(state="waiting")
    (image,) = page.all("img")
    assert image.get("src") == "/checkout/tok_1/qr.png"
    assert image.get("width") and image.get("height")
    assert image.get("alt") == "M-Pesa QR code: pay KES 1,250 to Mama Mboga Groceries"
    assert "tap Scan QR" in page.by_id("fallback-qr").text


def test_no_qr_section_without_a_qr_url(render: Callable[..., Page]) -> None:
    page = render(state="open", qr=None)
    assert not page.all(id="fallback-qr") and not page.all("img")


def test_no_fallbacks_at_all_when_neither_is_offered(render: Callable[..., Page]) -> None:
    page = render(state="open", qr=None, paybill=None)
    assert not page.all(id="fallbacks") and not page.all("details")


# --- what the page says, escaped -----------------------------------------------------------------


@pytest.mark.parametrize("state", ["open", "waiting"])
def test_the_header_names_merchant_amount_reference_and_description(
    render: Callable[..., Page], state: str
) -> None:
    page = render(state=state)
    header = " ".join(page.all("header")[0].text.split())
    for words in ("Mama Mboga Groceries", "KES 1,250", "INV-2024-00017", "Weekly vegetables box"):
        assert words in header
    assert "Mama Mboga Groceries" in page.all("h1")[0].text
    title = page.all("title")[0].text
    assert "KES 1,250" in title and "Mama Mboga Groceries" in title


@pytest.mark.parametrize("state", (*PAGE_STATES, "completed", "expired"))
def test_a_merchant_name_with_markup_renders_as_text(
    render: Callable[..., Page], state: str
) -> None:
    name = '<script>alert("x")</script> & Sons'
    page = render(state=state, merchant_name=name, reference="<b>ref</b>")
    assert "<script>alert" not in page.html
    assert all(s.get("src") for s in page.all("script"))
    assert not page.all("b")
    assert name in page.text


@pytest.mark.parametrize(
    ("state", "heading", "link"),
    [
        ("completed", "This payment is complete", "https://shop.example/paid?session_id=cs_1"),
        ("expired", "This payment link has expired", "https://shop.example/cart?session_id=cs_1"),
        ("not_found", "This payment link is not valid", None),
    ],
)
def test_closed_pages_say_calmly_what_happened(
    render: Callable[..., Page], state: str, heading: str, link: str | None
) -> None:
    page = render(state=state, receipt="SGH7K2L9QP" if state == "completed" else None)
    assert " ".join(page.all("h1")[0].text.split()) == heading
    hrefs = [a.get("href") for a in page.all("a")]
    assert hrefs == ([link] if link else [])
    assert ("SGH7K2L9QP" in page.text) is (state == "completed")
    assert not page.all("form")


def test_not_found_shows_nothing_from_the_placeholder_view(render: Callable[..., Page]) -> None:
    page = render(state="not_found", merchant_name="PLACEHOLDER", reference="PLACEHOLDER")
    assert "PLACEHOLDER" not in page.html


# --- the script's contract with the page ---------------------------------------------------------


def test_every_element_and_data_attribute_the_script_reads_is_on_the_page(
    render: Callable[..., Page],
) -> None:
    script = (ASSETS_DIR / "checkout.js").read_text()
    page = render(state="open")
    ids = {e.get("id") for e in page.elements}
    wanted_ids = set(re.findall(r'byId\("([\w-]+)"\)', script))
    assert wanted_ids and wanted_ids <= ids
    data = {name for e in page.elements for name in e.attrs if name.startswith("data-")}
    for name in re.findall(r"\.dataset\.(\w+)", script):
        assert "data-" + re.sub(r"[A-Z]", lambda m: "-" + m.group().lower(), name) in data
    sections = {e.get("data-section") for e in page.elements if e.has("data-section")}
    shown_by = re.search(r"var SECTION = \{(.*?)\};", script, re.DOTALL)
    assert shown_by and sections == set(re.findall(r'"(\w+)"', shown_by.group(1)))


# --- the stylesheet's colours --------------------------------------------------------------------

CSS = (ASSETS_DIR / "checkout.css").read_text()
ROOT = re.search(r":root\s*\{([^}]*)\}", CSS)
PALETTE = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", ROOT.group(1) if ROOT else ""))
PAIRS = re.findall(r"pair:\s*(--[\w-]+) on (--[\w-]+)", CSS)
RULES = re.findall(r"([^{}]+)\{([^{}]*)\}", re.sub(r"/\*.*?\*/", "", CSS, flags=re.DOTALL))


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def declared(body: str, *properties: str) -> str | None:
    names = "|".join(properties)
    match = re.search(rf"(?<![\w-])(?:{names}):\s*var\((--[\w-]+)\)", body)
    return match.group(1) if match else None


def test_contrast_function_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(("text", "background"), PAIRS, ids=[f"{t} on {b}" for t, b in PAIRS])
def test_declared_colour_pairs_meet_wcag_aa(text: str, background: str) -> None:
    assert contrast(PALETTE[text], PALETTE[background]) >= 4.5


def test_the_stylesheet_declares_its_palette_and_pairs() -> None:
    assert len(PALETTE) >= 10 and len(PAIRS) >= 10
    assert contrast(PALETTE["--on-accent"], PALETTE["--accent"]) >= 4.5  # the Pay button


def test_rules_use_only_palette_colours_in_declared_pairs() -> None:
    """A rule's text colour, background, or both, must belong to a checked pair (the page's
    surface is the background of a rule that sets only a colour)."""
    pairs = set(PAIRS)
    foregrounds = {t for t, _ in PAIRS}
    backgrounds = {b for _, b in PAIRS}
    for selector, body in RULES:
        if selector.strip() == ":root":
            continue
        for value in re.findall(r"(?<![\w-])(?:color|background(?:-color)?):\s*([^;]+);", body):
            assert value.startswith("var(--") or value in ("inherit", "transparent"), selector
        text, background = declared(body, "color"), declared(body, "background-color", "background")
        if text and background:
            assert (text, background) in pairs, selector
        elif text:
            assert text in foregrounds, selector
        elif background:
            assert background in backgrounds, selector


def test_the_stylesheet_honours_hidden_and_reduced_motion() -> None:
    assert re.search(r"\[hidden\]\s*\{\s*display:\s*none\s*!important;", CSS)
    assert "@media (prefers-reduced-motion: reduce)" in CSS
    assert "@import" not in CSS and "url(" not in CSS  # nothing fetched from anywhere else
