"""What a screen reader hears from the app: AT-SPI events, one JSON line each.

Run with the system's Python (its gi and Atspi), on the session bus the app
uses. Screen readers (Orca, and the toolkits' bridges behind NVDA and
VoiceOver alike) learn of new content from these events, not from the DOM:
an element added to a live region arrives as `object:children-changed:add`
carrying the new element, whose text is what gets spoken.

Prints {"event", "role", "live", "text"} per event of interest, where `live`
is the politeness of the live region the content sits in ("" for none).
Walks the accessible tree now and then, as a screen reader does when it
starts, so the web content is registered with the bus.
"""

import json
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402


def text_of(acc):
    try:
        iface = acc.get_text_iface()
        if iface is not None:
            return Atspi.Text.get_text(iface, 0, -1)
        return acc.get_name() or ""
    except GLib.Error:
        return ""


def live_of(acc):
    """The politeness of the live region `acc` is in, if any."""
    try:
        attrs = acc.get_attributes() or {}
    except GLib.Error:
        return ""
    return attrs.get("container-live") or attrs.get("live") or ""


def said(event):
    try:
        source = event.source
        child = event.any_data if isinstance(event.any_data, Atspi.Accessible) else None
        shown = child or source
        line = {
            "event": event.type,
            "role": shown.get_role_name(),
            "live": live_of(shown) or live_of(source),
            "text": text_of(shown),
        }
    except GLib.Error:
        return
    if line["text"]:
        print(json.dumps(line), flush=True)


def walk(acc, depth=0):
    if acc is None or depth > 60:
        return
    try:
        for i in range(acc.get_child_count()):
            walk(acc.get_child_at_index(i), depth + 1)
    except GLib.Error:
        pass


def walk_all():
    walk(Atspi.get_desktop(0))
    return True


listener = Atspi.EventListener.new(said)
for kind in ("object:children-changed:add", "object:announcement"):
    listener.register(kind)
walk_all()
GLib.timeout_add(2000, walk_all)
print(json.dumps({"event": "listening"}), flush=True)
Atspi.event_main()
