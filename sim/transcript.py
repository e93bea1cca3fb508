"""Hold the simulator's mtty against a real kernel's transcript.

`harness/run` boots a real kernel with the mtty sample driver and records, as
JSON, what every ioctl, read and write answered (schema: harness/TRANSCRIPT.md).
`replay()` makes the same calls, with the same inputs, on the simulator's
MttyDevice and records its answers in the same shape; `compare()` lists every
fact on which the two disagree. A disagreement is either a simulator bug to fix
or one of KNOWN_DIFFERENCES, each with the reason it is allowed.

Run it as `vfio-sim check TRANSCRIPT.json`; the test suite replays the committed
transcript (tests/golden/) on every run.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sim.device import DataStream, errno_name
from sim.host import SimHost
from sim.mtty import MttyDevice
from vfio_tui.model.fsm import KernelFsm, next_step_table
from vfio_tui.model.states import MigrationFlags, MigrationState

Json = dict[str, Any]
T = TypeVar("T")
S = MigrationState

SCHEMA = 1
# A call that has not returned by then counts as a hang (the sim answers at once).
CALL_TIMEOUT = 5.0

# Kernel facts outside what the simulator models (path prefix -> why). They are
# inputs the walk chose, or the VFIO group/container and sysfs side that the
# app never sees (it reads debugfs only).
NOT_MODELLED: dict[str, str] = {
    "device.mdev_type": "an input: the mdev type the walk created",
    "device.uuid": "an input: the device's name",
    "device.sysfs": "sysfs mdev types; the simulator models debugfs, not sysfs",
    "device.create": "creating the mdev through sysfs",
    "device.iommu_group": "the VFIO group/container uAPI, which the app never uses",
    "device.iommu": "the VFIO group/container uAPI, which the app never uses",
    "device.vfio_api_version": "the VFIO group/container uAPI, which the app never uses",
    "uart_program.bar0_region": "VFIO_DEVICE_GET_REGION_INFO; only the BAR writes are modelled",
    "uart_program.bar1_region": "VFIO_DEVICE_GET_REGION_INFO; only the BAR writes are modelled",
    "transfers.stop_copy.path": "a description of the step, not an answer",
    "transfers.pre_copy.path": "a description of the step, not an answer",
    "unreachable": "the walk's choice of start states, not an answer",
    "skipped": "pairs the walk chose not to request (a kernel that would hang)",
    "resume.source_device": "an input: the device's name",
    "resume.target_device": "an input: the device's name",
}
# Per resume case, the inputs (replayed as given, so not compared).
RESUME_INPUTS = ("note", "device", "image_bytes", "image_hex")
RESUME_CASES = ("intact", "corrupt_header", "port_count_mismatch", "port_count_mismatch_prefix")

# Facts on which the simulator knowingly differs (path -> why).
KNOWN_DIFFERENCES: dict[str, str] = {
    "device.debugfs_files": (
        "the simulator's mtty models a current kernel, whose debugfs also has "
        "migration/features (added in 6.18); 6.12 has `state` only. Replayed as "
        "6.12 (features_file=False) it lists exactly `state`."
    ),
}


# --- running the same calls on the simulator ------------------------------------------


async def outcome(call: Awaitable[object]) -> tuple[str, object]:
    """("0", value) on success, (errno name, None) on failure, ("HANG", None) if stuck."""
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            return "0", await call
    except TimeoutError:  # before OSError, of which it is a subclass
        return "HANG", None
    except OSError as exc:
        return errno_name(exc.errno), None


def attempt(call: Callable[[], T]) -> tuple[str, T | None]:
    """A synchronous call (a read, write or ioctl on a data fd): ("0", value) or (errno, None)."""
    try:
        return "0", call()
    except OSError as exc:
        return errno_name(exc.errno), None


def read_to_end(stream: DataStream) -> tuple[bytes, str]:
    """read() until it returns 0 or fails: the bytes, and what the last read returned."""
    data = b""
    while True:
        try:
            chunk = stream.read(4096)
        except OSError as exc:
            return data, errno_name(exc.errno)
        if not chunk:
            return data, "0"
        data += chunk


class Replay:
    """The simulator's side of one transcript: the same calls, the same inputs."""

    def __init__(self, kernel: Json, *, features_file: bool) -> None:
        self.kernel = kernel
        guard = kernel.get("kernel", {}).get("vfio_mig_get_next_state", {}).get("loop_guard", True)
        fsm = KernelFsm.FIXED if guard else KernelFsm.UNPATCHED
        dev = kernel.get("device", {})  # a transcript missing it is reported by compare()
        resume = kernel.get("resume", {})
        opts: dict[str, Any] = {"features_file": features_file, "kernel": fsm}
        self.main = MttyDevice(dev.get("uuid", "mtty"), nr_ports=2, **opts)
        self.two = MttyDevice(resume.get("target_device", "resume-target"), nr_ports=2, **opts)
        self.one = MttyDevice("mtty-1-target", nr_ports=1, **opts)
        self.host = SimHost("kernel", [self.main, self.two, self.one])
        self.image = b""  # the simulator's own STOP_COPY image of the main device

    async def debugfs_state(self, device: MttyDevice) -> str:
        code, data = await outcome(self.host.read(f"vfio/{device.name}/migration/state"))
        return data.decode() if isinstance(data, bytes) else code

    async def set(self, device: MttyDevice, target: str) -> tuple[str, DataStream | None]:
        code, stream = await outcome(device.set_state(S.from_name(target)))
        return code, stream if isinstance(stream, DataStream) else None

    async def get(self, device: MttyDevice) -> str:
        code, state = await outcome(device.get_state())
        return state.name if isinstance(state, MigrationState) else code

    async def run(self) -> Json:
        return {
            "device": await self.device(),
            "uart_program": self.uart_program(),
            "pairs": [await self.pair(p) for p in self.kernel.get("pairs", [])],
            "transfers": {
                "stop_copy": await self.stop_copy(),
                "pre_copy": await self.pre_copy(),
            },
            "resume": await self.resume(),
            "lifecycle": await self.lifecycle(),
        }

    async def device(self) -> Json:
        d = self.main
        out: Json = {
            "debugfs_device_dir": self.host.list_dir(f"vfio/{d.name}"),
            "debugfs_files": self.host.list_dir(f"vfio/{d.name}/migration"),
            "state_before_open": await self.debugfs_state(d),
        }
        d.open()
        out |= {
            "state_after_open": await self.debugfs_state(d),
            "get_state_after_open": await self.get(d),
            "migration_flags": int(d.flags),
            "mig_data_size": d.data_size,
            "dma_logging_probe": "0" if d.dirty_tracking else "ENOTTY",
        }
        return out

    def uart_program(self) -> Json:
        writes = []
        for w in self.kernel.get("uart_program", {}).get("writes", []):
            code, count = attempt(
                functools.partial(self.main.bar_write, w["bar"], w["reg"], w["val"])
            )
            result = str(count) if code == "0" else code
            writes.append({"bar": w["bar"], "reg": w["reg"], "val": w["val"], "result": result})
        return {"writes": writes}

    async def pair(self, kernel_pair: Json) -> Json:
        d = self.main
        await d.reset()
        out: Json = {"from": kernel_pair["from"], "to": kernel_pair["to"]}
        out["setup"] = list(kernel_pair["setup"])
        for step in kernel_pair["setup"]:
            code, _ = await self.set(d, step)
            if code != "0":
                out["setup_error"] = f"SET {step}: {code}"
                return out
        code, stream = await self.set(d, kernel_pair["to"])
        out |= {
            "result": code,
            "data_fd": stream is not None,
            "state_after": await self.get(d),
            "debugfs_state": await self.debugfs_state(d),
        }
        if stream is not None:
            out["data_fd_mode"] = "r" if stream.saving else "w"
            if stream.saving:
                data, end = read_to_end(stream)
                out |= {"data_fd_bytes": len(data), "data_fd_end_read": end}
        return out

    async def stop_copy(self) -> Json:
        d = self.main
        await d.reset()
        code, stream = await self.set(d, "STOP_COPY")
        out: Json = {
            "set_result": code,
            "data_fd": stream is not None,
            "debugfs_state": await self.debugfs_state(d),
        }
        if stream is None:
            return out
        data, end = read_to_end(stream)
        self.image = data
        info_code, _ = attempt(d.precopy_info)
        stop_code, _ = await self.set(d, "STOP")
        _, after = read_to_end(stream)
        await d.reset()
        return out | {
            "size": len(data),
            "hex": data.hex(),
            "end_read": end,
            "precopy_info_in_stop_copy": info_code,
            "set_stop_result": stop_code,
            "read_after_stop": after,
        }

    def precopy_info(self) -> Json | str:
        code, info = attempt(self.main.precopy_info)
        if info is None:
            return code
        return {"initial_bytes": info.initial_bytes, "dirty_bytes": info.dirty_bytes}

    async def pre_copy(self) -> Json:
        d = self.main
        await d.reset()
        code, stream = await self.set(d, "PRE_COPY")
        out: Json = {"set_pre_copy_result": code, "data_fd": stream is not None}
        if stream is None:
            return out
        out["info_before"] = self.precopy_info()
        head, end = read_to_end(stream)
        out |= {"pre_copy_size": len(head), "pre_copy_hex": head.hex(), "end_of_precopy_read": end}
        out["info_after"] = self.precopy_info()
        out["second_read_at_end"] = read_to_end(stream)[1]
        code, new = await self.set(d, "STOP_COPY")
        out |= {
            "set_stop_copy_result": code,
            "new_fd_on_stop_copy": new is not None,
            "state_after_stop_copy": await self.get(d),
            "debugfs_state_after_stop_copy": await self.debugfs_state(d),
            "stop_copy_read_from": "new fd" if new is not None else "pre-copy fd",
        }
        rest, end = read_to_end(new or stream)
        out |= {
            "stop_copy_size": len(rest),
            "stop_copy_hex": rest.hex(),
            "end_of_stop_copy_read": end,
            "info_in_stop_copy": self.precopy_info(),
            "concat_equals_stop_copy": head + rest == self.image,
        }
        code, _ = await outcome(d.reset())
        out |= {
            "reset_result": code,
            "state_after_reset": await self.get(d),
            "read_after_reset": read_to_end(stream)[1],
            "info_after_reset": self.precopy_info(),
        }
        return out

    async def save_image(self, device: MttyDevice) -> bytes:
        """The harness's save_image(): reset, STOP_COPY, read it all, reset."""
        await device.reset()
        _, stream = await self.set(device, "STOP_COPY")
        data = read_to_end(stream)[0] if stream is not None else b""
        await device.reset()
        return data

    async def resume_case(self, device: MttyDevice, kernel_case: Json) -> Json:
        """The harness's resume_case(): reset, RESUMING, one write, [STOP], RUNNING."""
        image = bytes.fromhex(kernel_case["image_hex"])
        stop_first = any(s["op"] == "set STOP" for s in kernel_case["steps"])
        await device.reset()
        steps: list[Json] = []
        refused = "none"
        code, stream = await self.set(device, "RESUMING")
        steps.append(
            {
                "op": "set RESUMING",
                "result": code,
                "data_fd": stream is not None,
                "state": await self.get(device),
            }
        )
        if stream is None:
            refused = "set RESUMING"
        else:
            code, written = attempt(lambda: stream.write(image))
            state = await self.get(device)
            steps.append(
                {
                    "op": f"write {len(image)}",
                    "result": str(written) if code == "0" else code,
                    "state": state,
                }
            )
            if code != "0":
                refused = "write"
            for target in (["STOP"] if stop_first else []) + ["RUNNING"]:
                code, _ = await self.set(device, target)
                steps.append(
                    {"op": f"set {target}", "result": code, "state": await self.get(device)}
                )
                if code != "0" and refused == "none":
                    refused = "set STOP (RESUMING->STOP arc)" if target == "STOP" else "set RUNNING"
        return {
            "steps": steps,
            "refused_at": refused,
            "state_after": await self.get(device),
            "debugfs_state": await self.debugfs_state(device),
        }

    async def resume(self) -> Json:
        kernel = self.kernel.get("resume", {})
        out: Json = {}
        if "intact" not in kernel:
            return out
        sc = bytes.fromhex(kernel["intact"]["image_hex"])
        out["intact"] = await self.resume_case(self.two, kernel["intact"])
        again = await self.save_image(self.two)
        out |= {"intact_reread_equal": again == sc, "intact_reread_hex": again.hex()}
        out["corrupt_header"] = await self.resume_case(self.two, kernel["corrupt_header"])
        bad = bytes.fromhex(kernel["corrupt_header"]["image_hex"])
        again = await self.save_image(self.two)
        out |= {
            "after_corrupt_image_bytes": len(again),
            "after_corrupt_image_hex": again.hex(),
            "corrupt_image_ports_loaded": len(again) == len(bad) and again[24:] == bad[24:],
        }
        for case in ("port_count_mismatch", "port_count_mismatch_prefix"):
            out[case] = await self.resume_case(self.one, kernel[case])
        out["mtty1_image_after_hex"] = (await self.save_image(self.one)).hex()
        return out

    async def lifecycle(self) -> Json:
        d = self.main
        await d.reset()
        code, _ = await self.set(d, "STOP")
        out: Json = {"set_stop_before_close": code}
        d.close()
        out["debugfs_state_after_close"] = await self.debugfs_state(d)
        code, _ = attempt(d.open)
        out["reopen"] = code
        out["get_state_after_reopen"] = await self.get(d)
        code, _ = await outcome(d.reset())
        out |= {
            "reset_result": code,
            "get_state_after_reset": await self.get(d),
            "debugfs_state_after_reset": await self.debugfs_state(d),
            "ports_survive_reset_and_reopen": await self.save_image(d) == self.image,
        }
        for device in (self.main, self.two, self.one):
            device.close()
        out["debugfs_state_all_closed"] = await self.debugfs_state(d)
        d.unplug()  # mdev remove
        out |= {
            "remove": "0",
            "debugfs_dir_exists_after_remove": d.name in self.host.list_dir("vfio"),
            "debugfs_state_after_remove": await self.debugfs_state(d),
        }
        self.two.unplug()
        self.one.unplug()
        out["debugfs_vfio_dir_at_end"] = self.host.list_dir("vfio")
        return out


async def replay(kernel: Json, *, features_file: bool = True) -> Json:
    """The simulator's answers to the calls recorded in `kernel`, in the same shape."""
    return await Replay(kernel, features_file=features_file).run()


# --- comparing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    path: str
    kernel: object
    sim: object
    known: str | None = None  # why it is allowed, if it is

    def text(self) -> str:
        line = f"{self.path}: kernel {self.kernel!r}, simulator {self.sim!r}"
        return f"{line}\n    known: {self.known}" if self.known else line


@dataclass
class Comparison:
    kernel_release: str
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    not_modelled: list[str] = field(default_factory=list)
    coverage: Json = field(default_factory=dict)  # the transcript's own summary, as recorded
    transfers: int = 0
    walked: int = 0  # pairs the simulator replayed (counted, not read from the summary)
    expected_pairs: int = 0  # pairs the harness walks on this device (from the FSM)

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if d.known is None]

    def text(self) -> str:
        lines = [
            f"kernel {self.kernel_release}: {self.walked} of "
            f"{len(MigrationState) ** 2} (current, target) pairs walked "
            f"({self.expected_pairs} reachable), "
            f"{self.transfers} data transfers, {self.compared} facts compared",
            f"differences from the simulator: {len(self.differences)} "
            f"({len(self.unexplained)} unexplained, "
            f"{len(self.differences) - len(self.unexplained)} known)",
        ]
        lines += [f"  {d.text()}" for d in self.differences]
        lines.append(f"not modelled by the simulator: {len(self.not_modelled)} facts")
        return "\n".join(lines)


def _flatten(value: object, path: str, out: dict[str, object]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{path}.{key}" if path else key, out)
    elif path == "pairs" and isinstance(value, list):
        for pair in value:
            _flatten(pair, f"pairs[{pair['from']}->{pair['to']}]", out)
    elif path == "uart_program.writes" and isinstance(value, list):
        for i, write in enumerate(value):
            _flatten(write, f"{path}[{i}]", out)
    else:
        out[path] = value


def _not_modelled(path: str) -> bool:
    if any(path == p or path.startswith(f"{p}.") for p in NOT_MODELLED):
        return True
    parts = path.split(".")
    return len(parts) == 3 and parts[0] == "resume" and parts[2] in RESUME_INPUTS


COMPARED_SECTIONS = (
    "device",
    "uart_program",
    "pairs",
    "unreachable",
    "skipped",
    "transfers",
    "resume",
    "lifecycle",
)  # everything but the kernel's identity, the coverage summary and the timings


def compare(kernel: Json, sim: Json) -> Comparison:
    """Every kernel fact the simulator answered differently (or not at all)."""
    k_flat: dict[str, object] = {}
    s_flat: dict[str, object] = {}
    for section in COMPARED_SECTIONS:
        if section in kernel:
            _flatten(kernel[section], section, k_flat)
        if section in sim:
            _flatten(sim[section], section, s_flat)
    result = Comparison(
        kernel_release=str(kernel.get("kernel", {}).get("release", "?")),
        coverage=dict(kernel.get("coverage", {})),
        transfers=sum(1 for t in kernel.get("transfers", {}).values() if t.get("data_fd"))
        + sum(1 for c in RESUME_CASES if c in kernel.get("resume", {})),
    )
    result.walked = sum(1 for pair in sim.get("pairs", []) if "result" in pair)
    result.differences += _missing(kernel, sim, result)
    for path, k_value in k_flat.items():
        if _not_modelled(path):
            result.not_modelled.append(path)
            continue
        result.compared += 1
        s_value = s_flat.get(path, "<not answered>")
        if s_value != k_value:
            result.differences.append(
                Difference(path, k_value, s_value, KNOWN_DIFFERENCES.get(path))
            )
    return result


def harness_pairs(flags: MigrationFlags) -> set[tuple[str, str]]:
    """Every (current, target) pair harness/run walks on a device with `flags`: each
    reachable (supported) current state, towards every one of the 8 targets."""
    return {(cur.name, new.name) for cur, new in next_step_table(flags)}


def _missing(kernel: Json, sim: Json, result: Comparison) -> list[Difference]:
    """What the transcript should hold but does not: a section, a pair the harness walks,
    a summary that disagrees with what is there. Each is unexplained: a transcript that
    covers less cannot vouch for the simulator."""
    absent = "<not in the transcript>"
    found = [
        Difference(section, absent, "<replayed by the simulator>")
        for section in COMPARED_SECTIONS
        if section not in kernel
    ]
    flags = MigrationFlags(sim.get("device", {}).get("migration_flags", MigrationFlags.STOP_COPY))
    expected = harness_pairs(flags)
    result.expected_pairs = len(expected)
    covered = {(p["from"], p["to"]) for p in kernel.get("pairs", []) if "result" in p}
    covered |= {(p["from"], p["to"]) for p in kernel.get("skipped", [])}
    for cur, new in sorted(expected - covered):
        found.append(Difference(f"pairs[{cur}->{new}]", absent, "<walked by the harness>"))
    recorded = kernel.get("coverage", {}).get("walked")
    counted = sum(1 for p in kernel.get("pairs", []) if "result" in p)
    if recorded != counted:
        found.append(Difference("coverage.walked", recorded, f"{counted} pairs in the transcript"))
    return found


def load(path: str | Path) -> Json:
    """A transcript written by harness/run; ValueError if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable transcript: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a schema-{SCHEMA} transcript from harness/run")
    if "fatal" in data:
        raise ValueError(f"{path}: the harness stopped early: {data['fatal']}")
    return data


async def check(kernel: Json, *, features_file: bool = True) -> Comparison:
    return compare(kernel, await replay(kernel, features_file=features_file))
