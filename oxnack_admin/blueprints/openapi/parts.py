"""Building blocks of the OpenAPI document, shared by spec.py and the groups it gathers."""


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def answer(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def obj(required: list[str], properties: dict, *, closed: bool = True) -> dict:
    schema = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


STRING = {"type": "string"}
AUTH_ERROR, STATUS_ERROR, RELAY_STATUS, MARKET_ERROR = (ref("AuthError"), ref("StatusError"),
                                                       ref("RelayStatus"), ref("MarketError"))
SESSION = [{"session": []}]
SERVER_ID = {"type": "integer", "minimum": 1, "maximum": 2 ** 31 - 1}


def errors(shape: dict, codes: dict[int, str]) -> dict:
    return {str(code): answer(shape, description) for code, description in codes.items()}


def good(message: str, **fields) -> dict:
    """A {"status": "good", "message": ...} answer with more fields."""
    return obj(["status", "message", *fields], {"status": {"type": "string", "enum": ["good"]},
                                                  "message": {"type": "string", "enum": [message]}, **fields})


def body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def integer(low: int, high: int) -> dict:
    return {"type": "integer", "minimum": low, "maximum": high}
