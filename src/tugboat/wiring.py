"""The one place that reads the configuration, builds the concrete parts and
hands them to the server. Nothing else constructs services."""

from tugboat.config import DaemonConfig
from tugboat.engine import Engine
from tugboat.engine.containers import ContainerService
from tugboat.engine.events import EventBus
from tugboat.engine.images import ImageService
from tugboat.engine.system import SystemService
from tugboat.runtime import ContainerRuntime
from tugboat.store.images import ImageStore
from tugboat.store.layers import LayerStore


def build_engine(cfg: DaemonConfig) -> Engine:
    cfg.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
    cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    layers = LayerStore(cfg.data_root, driver=cfg.storage_driver)
    image_store = ImageStore(cfg.data_root / "image")
    runtime = ContainerRuntime(exec_root=cfg.exec_root, cgroup_parent=cfg.cgroup_parent, runc=cfg.runtime)

    events = EventBus()   # one bus: every service publishes into it, GET /events reads it
    containers: ContainerService | None = None

    def image_in_use(image_id: str) -> list[str]:
        return containers.ids_using_image(image_id) if containers else []

    images = ImageService(image_store, layers, in_use=image_in_use, events=events)
    images.configure_registries(cfg.extra)
    containers = ContainerService(cfg.data_root / "containers", images, layers, runtime, events=events)
    system = SystemService(cfg, container_counts=containers.counts,
                           image_count=lambda: len(images.list(all=False)),
                           storage_driver=layers.driver_name)
    containers.restore()
    from tugboat.engine.builder import BuildService
    builds = BuildService(images, containers, layers, runtime, cfg.data_root / "builder" / "tmp")
    from tugboat.engine.exec import ExecService
    execs = ExecService(lookup=containers.record, runtime=runtime, events=events)
    containers.exec_ids = execs.ids_of
    return Engine(containers=containers, images=images, system=system, events=events, builds=builds,
                  execs=execs)
