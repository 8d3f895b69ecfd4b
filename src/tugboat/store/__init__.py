"""Content-addressed storage: atomic state files, layer snapshots (overlay2, vfs) and the image store.

Nothing here knows about HTTP or containers' processes; the runtime performs the mounts the layer
store describes (as containerd snapshotters return mounts instead of mounting).
"""
