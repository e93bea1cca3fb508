"""One side of the migration: a device's state, attributes and data, live."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from vfio_tui.model.layout import FileKind, Layout
from vfio_tui.model.snapshot import DeviceSnapshot, FileResult, ReadErrorKind
from vfio_tui.model.untrusted import printable
from vfio_tui.transport.base import HostStatus, LinkState

if TYPE_CHECKING:
    from vfio_tui.services.session import ActionOutcome

STALE_AFTER = 3.0  # polls missed before a pane counts as stale
LINK_MARKS = {
    LinkState.CONNECTED: "●",
    LinkState.CONNECTING: "◌",
    LinkState.RETRYING: "◌",
    LinkState.FAILED: "✗",
    LinkState.CLOSED: "✗",
}


class StateBanner(Static):
    """The migration state, large, in words and colour (never colour alone)."""

    def show(self, snapshot: DeviceSnapshot, last_seen: str | None, layout: Layout) -> None:
        from vfio_tui.model.explain import explain_state
        from vfio_tui.ui import render

        parsed = snapshot.state
        result = snapshot.file(FileKind.STATE)
        classes = ("-running", "-transfer", "-stopped", "-error", "-unknown")
        self.remove_class(*classes)
        if parsed is not None and parsed.state is not None:
            symbol, css = render.STATE_LOOK[parsed.state]
            self.add_class(css)
            line = Text(f"{symbol} {parsed.label}", style="bold")
            line.append(f" · {parsed.state.meaning}", style="not bold")
            note = parsed.note or explain_state(parsed.label, layout)
            if note:
                line.append(f"\n{printable(note)}", style="italic not bold")
            self.update(line)
            return
        self.add_class("-unknown")
        if parsed is not None:  # "Invalid"
            self.update(Text(printable(f"? {parsed.label}  {parsed.note}"), style="bold"))
            return
        if result is not None and result.error is not None:
            from vfio_tui.model.explain import explain

            word = "BLOCKED" if result.error.kind is ReadErrorKind.TIMED_OUT else "UNREADABLE"
            since = f"  last seen {printable(last_seen)}" if last_seen else ""
            line = Text(f"? {word}{since}", style="bold")
            why = explain(FileKind.STATE, result.error)
            if why:
                line.append(f"\n{why}", style="italic not bold")
            self.update(line)
            return
        if result is not None and result.data is not None:  # read, but not a state
            line = Text("? UNRECOGNISED STATE", style="bold")
            line.append(f"\nthe state file reads {printable(result.data, limit=60)!s}", "not bold")
            self.update(line)
            return
        self.update(Text("? no state yet", style="bold"))

    def show_link(self, status: HostStatus) -> None:
        """Before the first read: the state box says what the link says, never more."""
        self.remove_class("-running", "-transfer", "-stopped", "-error")
        self.add_class("-unknown")
        if status.state is LinkState.CONNECTING:
            self.update(Text("? connecting", style="bold"))
        else:
            self.update(Text("? not connected  (no state read yet)", style="bold"))


class DataView(Widget):
    """struct acc_vf_data field by field; the raw bytes beside them when the pane is wide."""

    DEFAULT_CSS = "DataView { height: auto; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._title: Text = Text()
        self._data: bytes | None = None
        self._lines: list[Text] = []

    def show(self, title: Text, data: bytes | None, lines: list[Text]) -> None:
        if (title, data, lines) == (self._title, self._data, self._lines):
            return
        self._title, self._data, self._lines = title, data, lines
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        from vfio_tui.ui import render

        parts: list[RenderableType] = [self._title, *self._lines]
        if self._data is not None:
            parts.append(render.data_table(self._data, self.size.width or 40))
        return Group(*parts)


class DevicePane(Vertical, can_focus=True):
    """Source or destination: header, link, state, then the device's files decoded."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "scroll(1)", "Scroll down", show=False, id="pane-down"),
        Binding("up", "scroll(-1)", "Scroll up", show=False, id="pane-up"),
        Binding("pagedown", "scroll(10)", "Page down", show=False, id="pane-page-down"),
        Binding("pageup", "scroll(-10)", "Page up", show=False, id="pane-page-up"),
    ]

    def __init__(self, side: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.side = side
        self.border_title = side.upper()
        self.last_good: float | None = None
        self.status = HostStatus()
        self._shown: dict[str, FileResult] = {}  # the files last shown, by path
        self._layout: Layout = Layout.CORE
        self._saved: tuple[FileKind, FileResult] | None = None
        self._state_problem: str | None = None  # the last poll could not read `state`
        # the last action: when it ran, the state then, and what it showed
        self._action: tuple[float, str | None, RenderableType] | None = None
        self._state_label: str | None = None
        self._identity_text = "connecting…"
        self._link_text = ""
        # what an action just said, what fails, the attributes: shown in this order
        self._parts: dict[str, RenderableType | None] = dict.fromkeys(
            ("actions", "errors", "attributes")
        )

    def compose(self) -> ComposeResult:
        # Few widgets: the first frame of the app is drawn sooner.
        yield Static(self._identity_text, classes="head")
        yield StateBanner("? connecting", classes="-unknown")
        with VerticalScroll():
            yield Static("", id="details", classes="section")
            yield DataView(id="data", classes="section")
            yield Static("", id="features", classes="section")

    def _show_head(self) -> None:
        # Device and host names are the host's text: escaped, and never markup.
        self.query_one(".head", Static).update(
            Text(f"{printable(self._identity_text)}\n{printable(self._link_text)}")
        )

    def _set_part(self, name: str, content: RenderableType | None) -> None:
        self._parts[name] = content
        shown = [part for part in self._parts.values() if part is not None]
        details = self.query_one("#details", Static)
        details.display = bool(shown)
        if shown:
            details.update(Group(*shown))

    def action_scroll(self, lines: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=lines, animate=False)

    # --- identity and link ------------------------------------------------------------

    @property
    def shows_saved_dev_data(self) -> bool:
        return self._saved is not None and self._saved[0] is FileKind.DEV_DATA

    def set_identity(self, host: str, device: str | None, layout: Layout | None) -> None:
        self.border_title = Text(f"{self.side.upper()} {printable(host)}")
        if layout is not None and layout is not self._layout:
            self._layout = layout
            self._shown = {}  # what the files mean depends on the layout: show them anew
        parts = [device or "(choosing a device)"]
        if layout is not None:
            parts.append(layout.short)
        self._identity_text = " · ".join(parts)
        self._show_head()

    def set_status(self, status: HostStatus) -> None:
        self.status = status
        if status.last_good_read is not None and self._state_problem is None:
            self.last_good = status.last_good_read
        if not self._shown:
            self.query_one(StateBanner).show_link(status)
        self.tick(time.time(), None)

    def tick(self, now: float, interval: float | None) -> None:
        """Refresh the link line: connection state and the age of the last good read."""
        status = self.status
        text = f"{LINK_MARKS[status.state]} {status.describe()}"
        stale = status.state is not LinkState.CONNECTED
        if self._state_problem is not None:
            text += f" · {self._state_problem}"  # connected, but the state is not being read
        if self.last_good is not None:
            age = max(0.0, now - self.last_good)
            good = "last good read" if self._state_problem else "last read"
            text += f" · {good} just now" if age < 1.0 else f" · {good} {_age(age)} ago"
            if interval is not None and age > max(STALE_AFTER * interval, 2.0):
                stale = True
        if stale and self.last_good is not None:
            text = f"STALE · {text}"
        self.set_class(stale and self.last_good is not None, "-stale")
        if text != self._link_text:  # an idle screen redraws nothing
            self._link_text = text
            self._show_head()

    # --- content ----------------------------------------------------------------------

    def show_snapshot(self, snapshot: DeviceSnapshot, last_seen: str | None) -> None:
        """Update only the sections whose files changed."""
        files = dict(snapshot.files)
        state = files.get(FileKind.STATE.path)
        if state is not None and state.error is not None:
            blocked = state.error.kind is ReadErrorKind.TIMED_OUT
            self._state_problem = "state read blocked" if blocked else "state unreadable"
        else:
            self._state_problem = None
            self.last_good = snapshot.taken_at
        label = snapshot.state_name
        if label != self._state_label:
            self._state_label = label
            self._show_action()  # an older result says that the state has moved on since
        if self._shown.get(FileKind.STATE.path) != state or state is None:
            self.query_one(StateBanner).show(snapshot, last_seen, self._layout)
        features = files.get(FileKind.FEATURES.path)
        if self._shown.get(FileKind.FEATURES.path) != features or not self._shown:
            self.query_one("#features", Static).update(self._features(features))
        if files != self._shown or not self._shown:
            self._show_attributes(files)
            self._show_data(files)
            self._show_errors(files)
        self._shown = files

    def _features(self, result: FileResult | None) -> RenderableType:
        from vfio_tui.model.formats import FeaturesFile
        from vfio_tui.ui import render

        title = render.section_title("features")
        if result is None:
            return Group(title, Text("(no features file: kernels before 6.18)", style="dim"))
        if result.data is None:
            return Group(title, render.error_line(FileKind.FEATURES.path, result))
        parsed = render.parse_or_error(FileKind.FEATURES, result.data)
        if not isinstance(parsed, FeaturesFile):
            return Group(title, Text(f"MALFORMED: {printable(str(parsed))}"))
        return Group(title, render.features(parsed))

    def _show_attributes(self, files: dict[str, FileResult]) -> None:
        from vfio_tui.model.formats import FormatError
        from vfio_tui.ui import render

        lines: list[Text] = []
        for kind in (FileKind.ATTR, FileKind.MIGF_DATA):
            result = files.get(kind.path)
            if result is not None and result.data is not None:
                parsed = render.parse_or_error(kind, result.data)
                if not isinstance(parsed, FormatError):
                    lines += render.attributes(kind, parsed)
        if self._saved is not None and self._saved[1].data is not None:
            kind, result = self._saved
            parsed = render.parse_or_error(kind, result.data or b"")
            if kind is FileKind.DEV_DATA and not isinstance(parsed, FormatError):
                lines += render.attributes(kind, parsed)
        title = render.section_title("attributes")
        self._set_part("attributes", Group(title, *lines) if lines else None)

    def _show_data(self, files: dict[str, FileResult]) -> None:
        from vfio_tui.model.formats import FormatError, dump_bytes
        from vfio_tui.ui import render

        view = self.query_one(DataView)
        kind = self._layout.data_file
        if kind is None:
            if self._saved is None:
                view.show(
                    render.section_title("migration data"),
                    None,
                    [Text("this driver shows no migration data in debugfs", style="dim")],
                )
            return
        result = files.get(kind.path)
        if self._saved is not None and self._saved[0] is FileKind.DEV_DATA:
            saved = self._saved[1]
            parsed = render.parse_or_error(FileKind.DEV_DATA, saved.data or b"")
            if saved.data is not None and not isinstance(parsed, FormatError):
                at = (
                    time.strftime("%H:%M:%S", time.localtime(self._action[0]))
                    if self._action
                    else ""
                )
                title = render.section_title(
                    "dev_data", f"live registers read at {at} (match header is zero)"
                )
                view.show(title, dump_bytes(parsed), [])
                return
        title = render.section_title(kind.short, "migration data")
        if result is None:
            view.show(title, None, [Text("not read yet", style="dim")])
        elif result.data is None:
            view.show(title, None, [render.error_line(kind.path, result)])
        else:
            parsed = render.parse_or_error(kind, result.data)
            if isinstance(parsed, FormatError):
                view.show(title, None, [Text(f"MALFORMED: {printable(str(parsed))}")])
            elif render.not_migrated(parsed):
                view.show(title, None, [Text("device not migrated! (nothing saved yet)")])
            else:
                view.show(title, dump_bytes(parsed), [])

    def _show_errors(self, files: dict[str, FileResult]) -> None:
        from vfio_tui.ui import render

        data_path = self._layout.data_file.path if self._layout.data_file else None
        lines = [
            render.error_line(path, result)
            for path, result in files.items()
            if result.error is not None and path != data_path
        ]
        self._set_part("errors", Group(render.section_title("errors"), *lines) if lines else None)

    def show_action(self, outcome: ActionOutcome, kind: FileKind | None) -> None:
        from vfio_tui.ui import render

        if outcome.result is not None and kind is not None:
            if kind in (FileKind.DEV_DATA, FileKind.SAVE):
                self._saved = (kind, outcome.result)
            line = render.one_line_result(kind, outcome.result)
        else:
            line = Text(printable(outcome.message))
        self._action = (time.time(), self._state_label, line)
        self._show_action()
        self.query_one(VerticalScroll).scroll_home(animate=False)
        if self._shown:
            self._show_attributes(self._shown)
            self._show_data(self._shown)

    def _show_action(self) -> None:
        """The last action's result, headed by when it ran; once the state has moved on,
        it says so (what it showed may no longer hold)."""
        from vfio_tui.ui import render

        if self._action is None:
            return
        at, state, line = self._action
        when = time.strftime("%H:%M:%S", time.localtime(at))
        if state != self._state_label and state is not None:
            when += f", when the state was {printable(state)}: older than what is shown"
        self._set_part("actions", Group(render.section_title("last action", when), line, Text()))


def _age(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
