"""Check the deployment invariants on rendered Kubernetes manifests.

Usage: kubectl kustomize k8s/base | python3 k8s/tests/check_manifests.py -
   or: python3 k8s/tests/check_manifests.py RENDERED.yaml
Prints each violated invariant and exits 1 when there is any.
"""

import re
import sys

import yaml

DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)?$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 0.001}
SERVICES = ("producer", "consumer")
# The consumer lets the Spring lifecycle phase that stops its listener run this much longer than
# loadlevel.consumer.shutdown-timeout.
SHUTDOWN_PHASE_MARGIN_SECONDS = 5


def seconds(value):
    """Convert a Spring Boot duration such as "100ms" or "30s" to seconds. A bare number is milliseconds."""
    match = DURATION.match(str(value).strip())
    if not match:
        raise ValueError(f"invalid duration {value!r}, expected a number with ms, s, m, h or d")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def name_label(labels):
    return (labels or {}).get("app.kubernetes.io/name")


def prestop_sleep_seconds(container):
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return pre_stop["sleep"]["seconds"]
    command = pre_stop.get("exec", {}).get("command", [])
    if len(command) == 2 and command[0] == "sleep":
        return int(command[1])
    return None


class Checker:
    def __init__(self, documents):
        self.documents = [d for d in documents if d]
        self.errors = []

    def objects(self, kind):
        return [d for d in self.documents if d.get("kind") == kind]

    def named(self, kind, name):
        for document in self.objects(kind):
            if document["metadata"]["name"] == name:
                return document
        return None

    def expect(self, condition, message):
        if not condition:
            self.errors.append(message)

    def run(self):
        self.check_resources()
        self.check_no_consumer_service()
        for name in SERVICES:
            deployment = self.named("Deployment", name)
            if deployment is not None:
                self.check_probes(deployment)
                self.check_credentials(deployment)
        self.check_consumer_shutdown()
        self.check_config_has_no_secrets()
        self.check_keda()
        return self.errors

    def check_resources(self):
        for kind in ("Deployment", "StatefulSet"):
            for workload in self.objects(kind):
                spec = pod_spec(workload)
                for container in spec.get("initContainers", []) + spec["containers"]:
                    resources = container.get("resources", {})
                    where = f"{kind} {workload['metadata']['name']} container {container['name']}"
                    self.expect("requests" in resources, f"{where} has no resource requests")
                    self.expect("memory" in resources.get("limits", {}), f"{where} has no memory limit")

    def check_no_consumer_service(self):
        for service in self.objects("Service"):
            selector = service["spec"].get("selector", {})
            self.expect(name_label(selector) != "consumer" and service["metadata"]["name"] != "consumer",
                        f"Service {service['metadata']['name']} exposes the consumer, which must have no Service")

    def check_probes(self, deployment):
        name = deployment["metadata"]["name"]
        container = pod_spec(deployment)["containers"][0]
        port_names = {port.get("name") for port in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/actuator/health/liveness"),
                            ("readinessProbe", "/actuator/health/readiness")):
            http_get = container.get(probe, {}).get("httpGet", {})
            self.expect(http_get.get("path") == path, f"{name} {probe} path is {http_get.get('path')!r}, expected {path}")
            port = http_get.get("port")
            self.expect(isinstance(port, str) and port in port_names,
                        f"{name} {probe} port is {port!r}, expected a named container port of {sorted(port_names)}")

    def check_credentials(self, deployment):
        name = deployment["metadata"]["name"]
        env = {e["name"]: e for e in pod_spec(deployment)["containers"][0].get("env", [])}
        for variable in ("SPRING_RABBITMQ_USERNAME", "SPRING_RABBITMQ_PASSWORD"):
            source = env.get(variable, {}).get("valueFrom", {})
            self.expect("secretKeyRef" in source, f"{name} {variable} does not come from a Secret")
        for variable, entry in env.items():
            self.expect(not ("PASSWORD" in variable and "value" in entry),
                        f"{name} sets {variable} as a literal value instead of a Secret reference")

    def check_config_has_no_secrets(self):
        for config_map in self.objects("ConfigMap"):
            for key in config_map.get("data", {}):
                self.expect("PASSWORD" not in key.upper(),
                            f"ConfigMap {config_map['metadata']['name']} contains {key}, which belongs in a Secret")

    def check_consumer_shutdown(self):
        deployment = self.named("Deployment", "consumer")
        config_map = self.named("ConfigMap", "consumer-config")
        if deployment is None or config_map is None:
            self.expect(deployment is None, "consumer Deployment exists but ConfigMap consumer-config is missing")
            return
        data = config_map["data"]
        prefetch = int(data["LOADLEVEL_CONSUMER_PREFETCH"])
        worst_work = max(seconds(v) for k, v in data.items() if k.startswith("LOADLEVEL_CONSUMER_WORK_"))
        shutdown = seconds(data["LOADLEVEL_CONSUMER_SHUTDOWN_TIMEOUT"])
        self.expect(shutdown >= prefetch * worst_work,
                    f"shutdown timeout {shutdown} s is less than prefetch {prefetch} x worst-case work {worst_work} s")
        spec = pod_spec(deployment)
        sleep = prestop_sleep_seconds(spec["containers"][0])
        self.expect(sleep is not None, "consumer has no preStop sleep")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        needed = (sleep or 0) + shutdown + SHUTDOWN_PHASE_MARGIN_SECONDS
        self.expect(grace >= needed,
                    f"consumer terminationGracePeriodSeconds {grace} is less than preStop {sleep} s"
                    f" + shutdown timeout {shutdown} s + phase margin {SHUTDOWN_PHASE_MARGIN_SECONDS} s")

    def check_keda(self):
        for scaled_object in self.objects("ScaledObject"):
            triggers = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "rabbitmq"]
            self.expect(triggers, "ScaledObject has no rabbitmq trigger")
            for trigger in triggers:
                metadata = trigger["metadata"]
                self.expect(metadata.get("protocol") == "http",
                            "KEDA rabbitmq trigger must use protocol http to count unacknowledged messages")
                self.expect(metadata.get("mode") == "QueueLength", "KEDA rabbitmq trigger mode must be QueueLength")
                self.expect(str(metadata.get("excludeUnacknowledged", "false")).lower() == "false",
                            "KEDA rabbitmq trigger excludes unacknowledged messages")
                self.expect("authenticationRef" in trigger, "KEDA rabbitmq trigger has no TriggerAuthentication")
            target = scaled_object["spec"]["scaleTargetRef"]["name"]
            deployment = self.named("Deployment", target)
            self.expect(deployment is not None and "replicas" not in deployment["spec"],
                        f"Deployment {target} scaled by KEDA must not set spec.replicas")


def main(path):
    stream = sys.stdin if path == "-" else open(path)
    errors = Checker(list(yaml.safe_load_all(stream))).run()
    for error in errors:
        print(error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
