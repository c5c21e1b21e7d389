"""A Chaos Toolkit control module for chaostest's bridge tests: it writes each hook call as a JSON
line to the file named by MYCONTROL_LOG, and changes the activity named by its `target`
argument before it runs."""
import json
import os

from chaoslib.exceptions import InvalidActivity


def _log(*event):
    path = os.environ.get("MYCONTROL_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(list(event)) + "\n")


def validate_control(control):
    if control.get("provider", {}).get("arguments", {}).get("bad"):
        raise InvalidActivity("mycontrol: the bad argument is not allowed")


def configure_control(target=None, configuration=None, secrets=None, experiment=None, settings=None):
    _log("configure", target, sorted(configuration or {}), sorted(secrets or {}), experiment["title"])


def before_experiment_control(context, target=None, **kwargs):
    _log("before_experiment", context["title"])


def before_method_control(context, target=None, **kwargs):
    _log("before_method")


def after_method_control(context, state, target=None, **kwargs):
    _log("after_method", [r["activity"]["name"] for r in state])


def before_activity_control(context, target=None, **kwargs):
    _log("before_activity", context["name"])
    if context["name"] == target:
        context["provider"]["arguments"]["obj"] = "changed by mycontrol"


def after_activity_control(context, state, target=None, **kwargs):
    _log("after_activity", context["name"], state["status"])


def after_experiment_control(context, state, target=None, **kwargs):
    _log("after_experiment", state["status"])
    state["experiment"]["extensions"] = [{"name": "mycontrol", "activities": len(state["run"])}]


def cleanup_control():
    _log("cleanup")
