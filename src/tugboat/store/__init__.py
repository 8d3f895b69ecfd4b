"""Content-addressed storage: atomic state files, layer snapshots (overlay2, vfs) and the image store.

Modules: ``atomic`` (crash-safe state files), ``layers`` (LayerStore: diff/chain IDs, rw layers,
prune), ``untar`` (hostile-tar-safe unpacking), ``tarsplit`` (byte-exact tar reassembly),
``tarstream`` (streaming tars of directories), ``snapshots`` (overlay2 and vfs drivers), ``images``
(ImageStore: configs, parents, metadata, references), ``fsutil`` (safe tree removal).

Nothing here knows about HTTP or container processes; the runtime performs the mounts the layer
store describes (as containerd snapshotters return mounts instead of mounting).
"""
