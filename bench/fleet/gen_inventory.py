#!/usr/bin/env python3
"""Writes a synthetic fleet inventory (docs/fleet.md) that passes preflight: GATEWAYS gateways spread over
hosts (50 per host, OpenClaw base ports 120 apart, every third gateway on the talon runtime), AGENTS agents
spread evenly over them, one telegram account per agent (secret references only), every fifth agent with
an extra peer binding, skills on the agents of OpenClaw gateways, catalogs and layered policy at every level.

Agents and accounts go into `$include`d files of CHUNK entries each (a file may hold at most 2 MiB, as
for configs), beside FILE.

usage: gen_inventory.py --gateways N --agents M --out FILE"""
import argparse
import json
import os

PER_HOST = 50
CHUNK = 2000


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


def chunked(out, name, entries):
    """Writes `entries` (a dict) into include files beside `out`; returns the $include directive."""
    keys = list(entries)
    base = os.path.splitext(os.path.basename(out))[0]
    files = []
    for n, start in enumerate(range(0, len(keys), CHUNK)):
        fname = f"{base}-{name}-{n:03d}.json"
        write_json(os.path.join(os.path.dirname(os.path.abspath(out)), fname),
                   {k: entries[k] for k in keys[start:start + CHUNK]})
        files.append("./" + fname)
    return {"$include": files}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateways", type=int, required=True)
    ap.add_argument("--agents", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    groups = {
        f"group-{g}": {
            "displayName": f"Group {g}",
            "templates": ["standard"],
            "policy": {"integrations": {"allow": ["telegram", "slack", "notion"]}},
        }
        for g in range(10)
    }
    gateways = {}
    for i in range(a.gateways):
        host = i // PER_HOST
        slot = i % PER_HOST
        gateways[f"gw-{i:05d}"] = {
            "group": f"group-{i % 10}",
            "host": f"host-{host:03d}",
            "provider": "ssh",
            "runtime": "talon" if i % 3 == 2 else "openclaw",
            "port": 10000 + slot * 120,
            "stateDir": f"/srv/fleet/gw-{i:05d}/state",
            "workspaceRoot": f"/srv/fleet/gw-{i:05d}/workspaces",
            "auth": {"mode": "token", "token": f"${{GW_{i:05d}_TOKEN}}"},
        }
    agents = {}
    accounts = {}
    for j in range(a.agents):
        gw = f"gw-{j % a.gateways:05d}"
        acct = f"bot-{j:06d}"
        accounts[acct] = {"botToken": f"${{TG_{j:06d}_TOKEN}}"}
        agent = {
            "gateway": gw,
            "kind": "use-case" if j % 2 else "human-coupled",
            "owner": f"owner-{j % 97}@example.org",
            "accounts": {"telegram": acct},
        }
        if (j % a.gateways) % 3 != 2:  # skills only on OpenClaw gateways: Talon does not support them yet
            agent["skills"] = ["search", "summarise"]
        if j % 5 == 0:
            agent["bindings"] = [{"channel": "telegram", "accountId": acct, "peer": {"kind": "group", "id": f"-100{j}"}}]
        if j % 7 == 0:
            agent["templates"] = ["cheap"]
        agents[f"agent-{j:06d}"] = agent
    inventory = {
        "organisation": {"id": "org-bench", "slug": "bench", "displayName": "Bench Org"},
        "defaults": {
            "version": "2026.9.6",
            "bind": "loopback",
            "model": "anthropic/claude-sonnet-4-5",
            "policy": {"providers": {"allow": ["anthropic", "openai"]}, "skills": {"deny": ["root-shell"]},
                       "tiers": ["default", "high-cost"]},
        },
        "templates": {
            "standard": {"profile": "usecase", "trustLevel": "standard"},
            "cheap": {"model": "openai/gpt-5-mini", "policy": {"tiers": ["default"]}},
        },
        "groups": groups,
        "gateways": gateways,
        "accounts": {"telegram": chunked(a.out, "accounts", accounts)},
        "agents": chunked(a.out, "agents", agents),
        "catalogs": {
            "integrations": {"telegram": {"kind": "core-channel"}, "slack": {"kind": "core-channel"},
                             "notion": {"kind": "custom-only", "installMethod": "skill"}},
            "skills": {"search": {}, "summarise": {}, "root-shell": {"tier": "high-trust"}},
            "models": {"anthropic/claude-sonnet-4-5": {}, "openai/gpt-5-mini": {},
                       "anthropic/claude-opus-4-1": {"tier": "high-cost"}},
        },
    }
    write_json(a.out, inventory)


if __name__ == "__main__":
    main()
