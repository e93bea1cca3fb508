"""The names of the built-in simulated pair, importable without loading the simulator."""

HISI_MAINLINE_DEVICE = "0000:3b:00.2"
HISI_2023_DEVICE = "0000:3d:00.2"
MTTY_DEVICE = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
NON_MIGRATABLE_DEVICE = "0000:5e:00.1"
DEFAULT_DEVICE = HISI_MAINLINE_DEVICE
