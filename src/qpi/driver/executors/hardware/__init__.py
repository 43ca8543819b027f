"""Code shared by the hardware executors ``quantify`` and ``qblox`` (``executors.md`` §3.3, §3.4).

Importing this package imports nothing heavy; each module says what it needs.

- :mod:`.options`: ``HardwareOptions`` and where the config files are found;
- :mod:`.device_schema` / :mod:`.device_config`: the device file, its allowlist and ``DeviceSpec``;
- :mod:`.hardware_config`: the hardware file (``QbloxHardwareCompilationConfig``) and its clusters;
- :mod:`.device_info`: ``DeviceInfo`` from the device file;
- :mod:`.transpile`: the cached pass manager to the native gates and coupling map;
- :mod:`.gates`: the gate conversion table → backend-neutral native operations;
- :mod:`.frames`: virtual Z rotations tracked in software (folded into pulse phases);
- :mod:`.readout`: per-qubit readout settings and discrimination;
- :mod:`.schedule`: placing native operations (reset, parallel readout, level-0 passes);
- :mod:`.backend`: the ``HardwareBackend`` seam each library implements;
- :mod:`.acquisition`: raw acquisitions → ``qpi.dataset/1`` arrays;
- :mod:`.clusters`: dummy / real Qblox clusters, quieting the libraries' warnings;
- :mod:`.assembler`: can the bundled Q1 assembler run on this glibc? (E-3.11, E-3.12);
- :mod:`.executor`: ``HardwareExecutor``, the pipeline both executors run;
- :mod:`.naming`: element, port and clock names.
"""
