"""Flask's JSON answers encoded by orjson: the same JSON as Flask's encoder, a few times faster.

Same keys in the same (sorted) order, Decimal as a string, dates as HTTP dates, dataclasses as
objects, as Flask's DefaultJSONProvider does. Anything orjson refuses (an integer beyond 64
bits, say) falls back to Flask's encoder. Request bodies are still parsed by the standard
library, whose leniency (NaN, huge integers) the endpoints' validation was written against;
both providers refuse a body nested too deep for it as they refuse any malformed body.
"""
import orjson
from flask.json.provider import DefaultJSONProvider, _default as _fallback

# Datetimes (HTTP dates) and dataclasses (asdict, then sorted) go to Flask's _default().
OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
           | orjson.OPT_PASSTHROUGH_DATACLASS)


class StdlibProvider(DefaultJSONProvider):
    """Flask's own provider, except that a body nested deeper than Python recurses is malformed JSON."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # A ValueError is what request.get_json(silent=True) and every caller already treat as
            # "not JSON"; a RecursionError went through them all and answered 500.
            raise ValueError("JSON nested too deeply") from None


class OrjsonProvider(StdlibProvider):
    def dumps(self, obj, **kwargs) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=_fallback, option=OPTIONS).decode()
        except TypeError:  # orjson.JSONEncodeError: beyond what orjson encodes
            return super().dumps(obj)

    def response(self, *args, **kwargs):
        return self._app.response_class(self.response_body(self._prepare_response_obj(args, kwargs)),
                                        mimetype=self.mimetype)

    def response_body(self, obj) -> bytes:
        """The bytes of response(obj) (web/hot_reads.py answers without a Response object)."""
        if self._app.debug:  # pretty-printed, as Flask does in debug mode
            return super().response(obj).get_data()
        try:
            return orjson.dumps(obj, default=_fallback, option=OPTIONS) + b"\n"
        except TypeError:
            return super().response(obj).get_data()
