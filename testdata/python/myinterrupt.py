"""A control that stops the run before the activity named by its `at` argument, raising
chaoslib's InterruptExecution (chaoslib need not be installed: the bridge provides its
exceptions)."""
from chaoslib.exceptions import InterruptExecution


def before_activity_control(context, at=None, **kwargs):
    if context.get("name") == at:
        raise InterruptExecution("stopped by myinterrupt before " + at)
