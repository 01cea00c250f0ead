"""One place that decides fragment or full page, and how an action reports its result."""
import json

from flask import Response, flash, make_response, redirect, render_template, request


def wants_fragment() -> bool:
    """An htmx request that is not boosted and not a history restore gets only the fragment."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str, /, *, http_status: int = 200, **context) -> Response:
    """The fragment for htmx swaps, the whole layout for a normal request (and for shared links)."""
    template = fragment if wants_fragment() else page
    return make_response(render_template(template, **context), http_status)


def with_toast(response: Response, message: str, level: str = "success") -> Response:
    """Ask the page to show a toast through the HX-Trigger header (merged with any trigger set)."""
    triggers = {}
    if response.headers.get("HX-Trigger"):
        try:
            triggers = json.loads(response.headers["HX-Trigger"])
        except ValueError:
            triggers = {response.headers["HX-Trigger"]: None}
    triggers["toast"] = {"message": message, "level": level}
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def action_result(message: str, fragment: str | None, back_to: str, /, *, level: str = "success",
                  **context) -> Response:
    """After an action: htmx gets the refreshed fragment and a toast; a plain form post is redirected."""
    if wants_fragment():
        if fragment is None:  # nothing to redraw: 204 swaps nothing, the toast still shows
            return with_toast(make_response("", 204), message, level)
        return with_toast(make_response(render_template(fragment, **context)), message, level)
    flash(message, level)
    return redirect(back_to, 303)


def action_refused(message: str, status: int, back_to: str, /) -> Response:
    """An action that cannot be done: a toast for htmx (nothing swapped), flash + redirect otherwise."""
    if wants_fragment():
        return with_toast(make_response("", status), message, "error")
    flash(message, "error")
    return redirect(back_to, 303)


def form_invalid(page: str, fragment: str, /, **context) -> Response:
    """A form with errors: 422, with the errors beside their fields (htmx swaps 422, see layout)."""
    response = render(page, fragment, http_status=422, **context)
    if wants_fragment():
        with_toast(response, "Please correct the highlighted fields.", "error")
    return response


def form_page(page: str, fragment: str, /, **context) -> Response:
    """A create form that did not validate: blank on GET, its errors (422) on a failed POST."""
    if request.method == "POST":
        return form_invalid(page, fragment, **context)
    return render(page, fragment, **context)


def navigate(message: str, url: str, level: str = "success") -> Response:
    """After a create: go to the new object's page, its toast flashed for that page."""
    flash(message, level)
    if wants_fragment():
        return make_response("", 204, {"HX-Redirect": url})
    return redirect(url, 303)
