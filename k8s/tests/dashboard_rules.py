"""Print the queries of a Grafana dashboard as a Prometheus rule file, for `promtool check rules`.

Usage: python3 k8s/tests/dashboard_rules.py DASHBOARD.json > rules.yml
Grafana's $__rate_interval is replaced by 1m, since Prometheus does not know it.
"""

import json
import sys


def main(path):
    with open(path) as file:
        dashboard = json.load(file)
    print("groups:")
    print("  - name: dashboard-queries")
    print("    rules:")
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m")
            record = f"dashboard:panel{panel['id']}:{target['refId']}"
            print(f"      - record: {record}")
            print(f"        expr: {json.dumps(expr)}")


if __name__ == "__main__":
    main(sys.argv[1])
