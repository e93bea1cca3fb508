"""The HiSilicon accelerator VF driver (hisi_acc_vfio_pci) with either debugfs layout.

Behaviour from drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c: the cached
mig_state starts zeroed (reads ERROR until the first open) and is set to
RUNNING on every open; vf_qm_state_save() gives 176 bytes, or only the 40
bytes of match data when the guest driver has not set QM_VF_STATE;
vf_qm_check_match() refuses data whose magic, dev_id, qp_num or que_iso_cfg
differ from this VF; hisi_acc_vf_disable_fds() copies the last migration file
into debug_migf, which `migf_data` (6.13) and the 2023 `data`/`attr` show.
"""

from __future__ import annotations

import enum
import errno
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sim.device import DataStream, SimDevice, os_error
from vfio_tui.model.accdata import (
    ACC_DRV_MAJOR_VER,
    ACC_DUMP_SIZE,
    ACC_MAGIC_V2,
    ACC_VF_DATA_SIZE,
    QM_MATCH_SIZE,
    AccVfData,
    acc_magic,
    decode_acc_vf_data,
    encode_acc_vf_data,
)
from vfio_tui.model.formats import (
    MAILBOX_NOT_READY,
    AttrFile,
    CmdStateFile,
    DataFile,
    DevDataFile,
    IoTestFile,
    MigfDataFile,
    Notice,
    SaveFile,
)
from vfio_tui.model.states import QM_NOT_READY, QM_READY, MigrationFlags, MigrationState

S = MigrationState
SEC_VF = 0xA256


class HisiLayout(enum.Enum):
    V2023 = "2023"  # attr, data, save, io_test (the patch series vendor kernels carry)
    MAINLINE = "mainline"  # dev_data, migf_data, cmd_state (6.13+)


class HisiAccDevice(SimDevice):
    driver = "hisi_acc"

    def __init__(
        self,
        name: str,
        layout: HisiLayout = HisiLayout.MAINLINE,
        *,
        dev_id: int = SEC_VF,
        qp_num: int = 4,
        qp_base: int = 0x40,
        que_iso_cfg: int = 1,
        guest_driver_loaded: bool = True,
        mailbox: int = 0,
        magic: int = ACC_MAGIC_V2,
        **kwargs: object,
    ) -> None:
        kwargs.setdefault("initial_state", S.ERROR)  # the cached state starts zeroed
        super().__init__(name, MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY, **kwargs)  # type: ignore[arg-type]
        self.layout = layout
        self.dev_id = dev_id
        self.qp_num = qp_num
        self.qp_base = qp_base
        self.que_iso_cfg = que_iso_cfg
        self.guest_driver_loaded = guest_driver_loaded  # the QM_VF_STATE register
        self.mailbox = mailbox  # QM_MB_CMD_SEND_BASE
        self.magic = magic
        self.vf_qm_state = QM_READY  # the driver's cached copy, kzalloc'd to 0
        self.registers = _registers(name)
        self.debug_migf = bytes(ACC_VF_DATA_SIZE)
        self.debug_migf_length = 0

    # --- data -----------------------------------------------------------------------

    def match_data(self) -> AccVfData:
        """vf_qm_get_match_data(): what this VF is (the destination compares it)."""
        return replace(
            self.registers if self.guest_driver_loaded else AccVfData(),
            acc_magic=self.magic,
            qp_num=self.qp_num,
            dev_id=self.dev_id,
            que_iso_cfg=self.que_iso_cfg,
            qp_base=self.qp_base,
            vf_qm_state=QM_READY if self.guest_driver_loaded else QM_NOT_READY,
            major_ver=ACC_DRV_MAJOR_VER if self.magic == ACC_MAGIC_V2 else 0,
            minor_ver=0,
            qm_rsv_state=(0, 0) if self.magic == ACC_MAGIC_V2 else (0, 0, 0),
        )

    def image(self) -> bytes:
        """vf_qm_state_save(): 176 bytes, or match data only when the guest is not ready."""
        data = encode_acc_vf_data(self.match_data())
        return data if self.guest_driver_loaded else data[:QM_MATCH_SIZE]

    def precopy_size(self) -> int:
        return QM_MATCH_SIZE

    def resume_capacity(self) -> int:
        return ACC_VF_DATA_SIZE

    def _save_state(self) -> bytes:
        """The save path: the mailbox commands fail when the mailbox is not ready."""
        if self.guest_driver_loaded:
            self._mailbox_command()
        self.vf_qm_state = QM_READY if self.guest_driver_loaded else QM_NOT_READY
        return self.image()

    def _mailbox_command(self) -> None:
        # hisi_qm_mb() -> qm_wait_mb_ready(): a mailbox that reads all ones times out.
        if self.mailbox == MAILBOX_NOT_READY:
            raise os_error(errno.EBUSY)

    # --- arcs -------------------------------------------------------------------------

    async def _arc(self, current: MigrationState, step: MigrationState) -> DataStream | None:
        if (current, step) == (S.RUNNING, S.STOP):
            self._mailbox_command()  # vf_qm_func_stop(): QM_MB_CMD_PAUSE_QM
            return None
        if (current, step) == (S.STOP, S.STOP_COPY):
            self.saving = DataStream(True, self._save_state())
            return self.saving
        if (current, step) == (S.PRE_COPY, S.STOP_COPY):
            assert self.saving is not None
            self._mailbox_command()  # the device is stopped first
            self.saving.append(self._save_state()[self.saving.filled :])
            return None
        return await super()._arc(current, step)

    def load(self, data: bytes) -> None:
        """hisi_acc_vf_load_state(): vf_qm_check_match(), then vf_qm_load_data()."""
        if self.match_problems(data):
            raise os_error(errno.EINVAL)
        # vf_qm_check_match() writes the source's vf_qm_state into QM_VF_STATE.
        self.vf_qm_state = int.from_bytes(data[0x18:0x1C], "little")
        self.guest_driver_loaded = self.vf_qm_state == QM_READY
        if len(data) == QM_MATCH_SIZE:
            return  # only match data was transferred
        if len(data) < ACC_VF_DATA_SIZE:
            raise os_error(errno.EINVAL)
        self._mailbox_command()  # qm_set_regs() waits for the mailbox
        self.registers = decode_acc_vf_data(data)

    def match_problems(self, data: bytes) -> list[str]:
        """Why vf_qm_check_match() refuses `data` on this VF (empty: it accepts)."""
        if len(data) < QM_MATCH_SIZE:
            return [f"only {len(data)} bytes, the match data is {QM_MATCH_SIZE}"]
        found = []
        magic = acc_magic(data)
        if magic is None or magic.value != self.magic:
            found.append("acc_magic differs")
        elif magic.value == ACC_MAGIC_V2 and int.from_bytes(data[0x1C:0x1E], "little") != 1:
            found.append("major_ver is not 1")
        if int.from_bytes(data[0x0C:0x10], "little") != self.dev_id:
            found.append("dev_id differs")
        if int.from_bytes(data[0x08:0x0C], "little") != self.qp_num:
            found.append("qp_num differs")
        if int.from_bytes(data[0x10:0x14], "little") != self.que_iso_cfg:
            found.append("que_iso_cfg differs")
        return found

    def on_files_disabled(self, saving: DataStream | None, resuming: DataStream | None) -> None:
        # hisi_acc_debug_migf_copy(): the resuming file first, then the saving one.
        for stream in (resuming, saving):
            if stream is not None and stream.filled:
                buffer = bytes(stream.buffer[:ACC_VF_DATA_SIZE])
                self.debug_migf = buffer + self.debug_migf[len(buffer) :]
                self.debug_migf_length = stream.filled

    def open(self) -> None:
        super().open()
        self._set(S.RUNNING)  # hisi_acc_vfio_pci_open_device()

    async def reset(self) -> None:
        await super().reset()
        self.vf_qm_state = QM_NOT_READY  # the deferred reset in state_mutex_unlock

    # --- debugfs ------------------------------------------------------------------------

    def driver_files(self) -> dict[str, Callable[[], Awaitable[bytes]]]:
        if self.layout is HisiLayout.MAINLINE:
            return {
                "hisi_acc/dev_data": self._read_dev_data,
                "hisi_acc/migf_data": self._read_migf_data,
                "hisi_acc/cmd_state": self._read_cmd_state,
            }
        return {
            "hisi_acc/attr": self._read_attr,
            "hisi_acc/data": self._read_data,
            "hisi_acc/save": self._read_save,
            "hisi_acc/io_test": self._read_io_test,
        }

    def _debug_check(self) -> None:
        """hisi_acc_vf_debug_check(): EINVAL if not opened, EBUSY if the VF is not ready."""
        if not self.opened:
            raise os_error(errno.EINVAL)
        if not self.guest_driver_loaded:
            raise os_error(errno.EBUSY)

    async def _read_dev_data(self) -> bytes:
        self._debug_check()
        async with self.state_mutex:
            self._check_present()
            # vf_qm_read_data() fills vf_qm_state and the registers; the match
            # header stays zero because the buffer is kzalloc'd.
            regs = encode_acc_vf_data(replace(self.registers, vf_qm_state=self.vf_qm_state))
            dump = bytes(0x18) + regs[0x18:0x1C] + bytes(0x0C) + regs[0x28:ACC_DUMP_SIZE]
            return DevDataFile(dump, self.vf_qm_state, ACC_VF_DATA_SIZE).render()

    async def _read_migf_data(self) -> bytes:
        if self.debug_migf_length < QM_MATCH_SIZE:
            raise os_error(errno.EAGAIN)  # "device not migrated!" is thrown away
        return MigfDataFile(self.debug_migf[:ACC_DUMP_SIZE], self.debug_migf_length).render()

    async def _read_cmd_state(self) -> bytes:
        self._debug_check()
        if self.mailbox == MAILBOX_NOT_READY:
            raise os_error(errno.EINVAL)
        return CmdStateFile().render()

    # The 2023 files: every read succeeds; problems are one-line notices.

    async def _read_attr(self) -> bytes:
        if self.debug_migf_length == 0:
            return AttrFile(notice=Notice.NOT_MIGRATED).render()
        return AttrFile(int(self.state), self.vf_qm_state, 0, self.debug_migf_length).render()

    async def _read_data(self) -> bytes:
        if self.debug_migf_length == 0:
            return DataFile(None, Notice.NOT_MIGRATED).render()
        return DataFile(self.debug_migf[:ACC_DUMP_SIZE]).render()

    async def _read_save(self) -> bytes:
        if not self.opened:
            return SaveFile(Notice.NOT_OPENED).render()
        try:
            data = self._save_state()
        except OSError:
            return SaveFile(Notice.SAVE_FAILED).render()
        self.debug_migf = data + bytes(ACC_VF_DATA_SIZE - len(data))
        self.debug_migf_length = len(data)
        return SaveFile(Notice.SAVE_OK).render()

    async def _read_io_test(self) -> bytes:
        if not self.opened:
            return IoTestFile(notice=Notice.NOT_OPENED).render()
        if not self.guest_driver_loaded:
            return IoTestFile(notice=Notice.VF_NOT_READY).render()
        return IoTestFile(mailbox=self.mailbox).render()


def _registers(seed: str) -> AccVfData:
    """Plausible register values, the same every time for the same device name."""
    rng = random.Random(seed)

    def word() -> int:
        return rng.getrandbits(32)

    eqc = tuple(word() for _ in range(7))
    aeqc = tuple(word() for _ in range(7))
    return AccVfData(
        aeq_int_mask=0,
        eq_int_mask=0,
        ifc_int_source=0,
        ifc_int_mask=0,
        ifc_int_set=0,
        page_size=0x1000,
        qm_eqc_dw=eqc,
        qm_aeqc_dw=aeqc,
        qm_rsv_regs=(0,) * 5,
        eqe_dma=(eqc[1] << 32) | eqc[0],
        aeqe_dma=(aeqc[1] << 32) | aeqc[0],
        sqc_dma=rng.getrandbits(40) << 12,
        cqc_dma=rng.getrandbits(40) << 12,
    )
