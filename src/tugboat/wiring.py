"""The one place that reads the configuration, builds the concrete parts and
hands them to the server. Nothing else constructs services."""

from typing import Any

from tugboat.config import DaemonConfig
from tugboat.engine import Engine
from tugboat.engine.container_archive import ArchiveService
from tugboat.engine.container_commit import CommitService
from tugboat.engine.containers import ContainerService
from tugboat.engine.events import EventBus
from tugboat.engine.images import ImageService
from tugboat.engine.system import SystemService
from tugboat.errors import InvalidArgument
from tugboat.runtime import ContainerRuntime
from tugboat.store.idmap import IdMap
from tugboat.store.images import ImageStore
from tugboat.store.layers import LayerStore


def build_engine(cfg: DaemonConfig) -> Engine:
    idmap = _userns_remap(cfg)
    cfg.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
    cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    layers = LayerStore(cfg.data_root, driver=cfg.storage_driver, idmap=idmap)
    image_store = ImageStore(cfg.data_root / "image")
    runtime = ContainerRuntime(exec_root=cfg.exec_root, cgroup_parent=cfg.cgroup_parent, runc=cfg.runtime)

    events = EventBus()   # one bus: every service publishes into it, GET /events reads it
    containers: ContainerService | None = None

    def image_in_use(image_id: str) -> list[str]:
        return containers.ids_using_image(image_id) if containers else []

    images = ImageService(image_store, layers, in_use=image_in_use, events=events)
    images.configure_registries(cfg.extra)
    from tugboat.engine.volumes import VolumeService
    volumes = VolumeService(cfg.data_root / "volumes", events=events,
                            in_use=lambda name: containers.ids_using_volume(name) if containers else [])
    containers = ContainerService(cfg.data_root / "containers", images, layers, runtime, events=events,
                                  volumes=volumes)
    containers.idmap = volumes.idmap = idmap
    # commit and cp only read a container: collaborators given its record, not part of the service
    commits = CommitService(lookup=containers.record, images=images, layers=layers,
                            pause=containers.pause, unpause=containers.unpause, events=events)
    archives = ArchiveService(lookup=containers.record, mounts=containers.rootfs_mounts, events=events,
                              idmap=idmap)
    system = SystemService(cfg, container_counts=containers.counts,
                           image_count=lambda: len(images.list(all=False)),
                           storage_driver=layers.driver_name)
    from tugboat.engine.system_df import DiskUsage
    system.disk_usage_of = DiskUsage(containers, images, layers, volumes).usage
    networks = _build_networking(cfg, events, containers)
    containers.networking.idmap = idmap
    containers.restore()
    volumes.sweep()   # option volumes that no running container uses any more are unmounted
    from tugboat.engine.builder import BuildService
    builds = BuildService(images, containers, layers, runtime, cfg.data_root / "builder" / "tmp")
    from tugboat.engine.exec import ExecService
    execs = ExecService(lookup=containers.record, runtime=runtime, events=events,
                        link_env=lambda rec: containers.networking.link_env(rec) if containers.networking else [])
    containers.exec_ids = execs.ids_of
    return Engine(containers=containers, images=images, system=system, events=events, builds=builds,
                  execs=execs, commits=commits, archives=archives, volumes=volumes, networks=networks)


def _userns_remap(cfg: DaemonConfig) -> IdMap | None:
    """daemon.json ``userns-remap``: the id mapping, and the daemon's state moved to the
    remapped root ``<data-root>/<uid>.<gid>`` (cfg.data_root changes, as dockerd's config.Root)."""
    if not cfg.userns_remap:
        return None
    if not isinstance(cfg.userns_remap, str):
        raise InvalidArgument("userns-remap: expected a string")
    from tugboat.runtime.userns_remap import remap, setup_remapped_root
    idmap = remap(cfg.userns_remap)
    cfg.data_root = setup_remapped_root(cfg.data_root, cfg.exec_root, idmap)
    return idmap


def _build_networking(cfg: DaemonConfig, events: EventBus, containers: ContainerService) -> Any:
    """Firewall chains (flushed: rebuilt from state), the networks with their bridges, port
    reservations, the embedded DNS and the containers' sandboxes (netns pinned under the exec root).
    Before containers.restore(), which re-publishes the ports of running containers."""
    from tugboat.engine.container_network import ContainerNetworking
    from tugboat.engine.dns_resolver import ContainerResolver
    from tugboat.engine.network_record import NetworkSettingsConfig
    from tugboat.engine.networks import NetworkService
    from tugboat.network.dns import EmbeddedDNS
    from tugboat.network.firewall import Firewall
    from tugboat.network.ports import PortReservations

    settings = NetworkSettingsConfig.from_extra(cfg.extra)
    firewall = Firewall(settings.iptables_chain_prefix, enabled=settings.iptables)
    firewall.setup()
    firewall.reset()
    networks = NetworkService(cfg.data_root / "network", settings, firewall, events)
    networks.restore()
    dns = EmbeddedDNS(ContainerResolver(containers.record, networks, cfg.extra.get("dns")))
    containers.networking = ContainerNetworking(
        networks, firewall, PortReservations(), dns, cfg.exec_root / "netns", containers.record, events,
        link_prefix=str(cfg.extra.get("veth-prefix") or "tug"), default_ip=settings.ip, daemon_dns=cfg.extra)
    return networks
