"""Small Python providers for chaostest's bridge tests (see internal/pybridge, chaostest/python_test.go)."""
import datetime
import decimal
import os
import sys
import time
import uuid


def health(service: str = "greeter", replicas: int = 3):
    """A probe returning a dict."""
    print("checking", service, "from mymod")  # goes to stderr, never to the protocol
    return {"service": service, "replicas": replicas, "healthy": True, "ratio": 1.0}


def boom(message: str):
    """An action that raises."""
    raise ValueError(message)


class MyError(Exception):
    pass


def custom_boom():
    raise MyError("custom failure")


def slow(seconds: float = 30):
    """Sleeps past any reasonable timeout; writes its pid first so a test can check it died."""
    marker = os.environ.get("MYMOD_SLOW_MARKER")
    if marker:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
    time.sleep(seconds)
    return "woke up"


def with_config(name, configuration, secrets=None):
    """Takes configuration and secrets."""
    return {
        "name": name,
        "configuration": configuration,
        "secrets": secrets,
    }


def config_only(configuration):
    return sorted(configuration)


def typed(value=None):
    """Returns the Python type name of its argument and the value."""
    return [type(value).__name__, value]


def is_ok(value=None):
    """A tolerance probe: met when the value's 'healthy' key is true."""
    return bool(value and value.get("healthy"))


def needs_value(value):
    return value


def special():
    """Values JSON has no type for, encoded as chaostoolkit's journal encoder does."""
    return {
        "when": datetime.datetime(2026, 12, 1, 7, 30, 0, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2026, 12, 1),
        "amount": decimal.Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "tuple": (1, 2),
    }


def not_json():
    return {1, 2, 3}


def exits():
    sys.exit(3)


def crash():
    os._exit(7)


def echo(**kwargs):
    return kwargs


def noisy():
    print("to stdout")
    os.write(1, b"raw fd 1 write\n")
    return "quiet"


not_a_function = 42


def pid():
    """The child's process id, to check that one child serves a whole run."""
    return os.getpid()


def uses_secrets(name, configuration, secrets=None):
    """Says what it received without returning secret values (journals may mask them)."""
    return {
        "name": name,
        "configuration": configuration,
        "secret_names": None if secrets is None else sorted(secrets),
        "token_is_right": bool(secrets) and secrets.get("token") == "s3cret",
    }


def big(size: int):
    """A string of size characters (to pass the bridge's output limit)."""
    return "x" * size
