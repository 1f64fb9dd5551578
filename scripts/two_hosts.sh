#!/usr/bin/env bash
# Two hosts on one machine: a data-parallel job run by `torchrun --nnodes 2`, one node per network
# namespace, the two joined by a veth pair with private addresses that exist only inside them.
#
#   scripts/two_hosts.sh --out DIR [--nproc-per-node N] [--kill-host K --kill-after-epoch E]
#                        -- TRAIN_FLAGS...
#
# Node 0 (namespace A, 10.R.S.1) hosts torchrun's store; node 1 (namespace B, 10.R.S.2) joins it.
# Both run `tch-harness train TRAIN_FLAGS --out DIR/run` (rank 0 writes the run directory; the
# filesystem is shared, as a cluster's would be). Each node's output goes to DIR/host0.log and
# DIR/host1.log. With --kill-host K, every process in node K's namespace gets SIGKILL once
# DIR/run/metrics.jsonl holds E epochs: the other node must end on its own.
#
# The last line printed is `two_hosts: host0_rc=.. host1_rc=.. [killed=K other_ended_after_s=..]`.
# Needs root (or CAP_NET_ADMIN) for `ip netns`; where that is refused it prints
# `two_hosts: skipped: <why>` and exits 77. The namespaces and the veth pair are removed on exit,
# whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
home=$(pwd)

out="" nproc_per_node=1 kill_host="" kill_after=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --nproc-per-node) nproc_per_node=$2; shift 2 ;;
    --kill-host) kill_host=$2; shift 2 ;;
    --kill-after-epoch) kill_after=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "error: two_hosts.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "error: two_hosts.sh: --out DIR is required" >&2; exit 2; }
case "$kill_host" in ""|0|1) ;; *) echo "error: two_hosts.sh: --kill-host must be 0 or 1" >&2; exit 2 ;; esac

bin=${TCH_HARNESS_BIN:-$home/target/release/tch-harness}
torchrun=${TORCHRUN:-$home/.venv/bin/torchrun}
[ -x "$bin" ] || { echo "error: two_hosts.sh: no harness binary at $bin (cargo build --release)" >&2; exit 2; }
[ -x "$torchrun" ] || { echo "error: two_hosts.sh: no torchrun at $torchrun (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Names and a /24 unique to this process, so that two runs at once do not collide.
tag=th$$
ns=("${tag}a" "${tag}b")
veth=("${tag}va" "${tag}vb")
subnet="10.$((200 + $$ % 50)).$(($$ / 50 % 250))"
addr=("$subnet.1" "$subnet.2")

cleanup() {
  for n in "${ns[@]}"; do
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$n" 2>/dev/null || true
  done
}
trap cleanup EXIT

if ! why=$(ip netns add "${ns[0]}" 2>&1); then
  echo "two_hosts: skipped: cannot create a network namespace ($why)"
  trap - EXIT
  exit 77
fi
ip netns add "${ns[1]}"
ip link add "${veth[0]}" netns "${ns[0]}" type veth peer name "${veth[1]}" netns "${ns[1]}"
for k in 0 1; do
  ip -n "${ns[$k]}" addr add "${addr[$k]}/24" dev "${veth[$k]}"
  ip -n "${ns[$k]}" link set "${veth[$k]}" up
  ip -n "${ns[$k]}" link set lo up
done

port=29500
pids=()
for k in 0 1; do
  # GLOO_SOCKET_IFNAME: the host name resolves to an address outside the namespaces.
  ip netns exec "${ns[$k]}" env GLOO_SOCKET_IFNAME="${veth[$k]}" \
    "$torchrun" --nnodes 2 --node-rank "$k" --nproc-per-node "$nproc_per_node" \
    --master-addr "${addr[0]}" --master-port "$port" --no-python \
    "$bin" train "$@" --out "$out/run" >"$out/host$k.log" 2>&1 &
  pids+=($!)
done

summary=""
if [ -n "$kill_host" ]; then
  other=$((1 - kill_host))
  metrics="$out/run/metrics.jsonl"
  while [ "$({ wc -l <"$metrics"; } 2>/dev/null || echo 0)" -lt "$kill_after" ]; do
    kill -0 "${pids[$other]}" 2>/dev/null || break
    sleep 0.1
  done
  for pid in $(ip netns pids "${ns[$kill_host]}"); do kill -9 "$pid" 2>/dev/null || true; done
  killed_at=$(date +%s.%N)
  wait "${pids[$other]}" && rc_other=0 || rc_other=$?
  ended=$(date +%s.%N)
  summary=" killed=$kill_host other_ended_after_s=$(awk "BEGIN { printf \"%.1f\", $ended - $killed_at }")"
fi
rc=()
for k in 0 1; do
  if [ "$k" = "$kill_host" ]; then
    wait "${pids[$k]}" && rc+=(0) || rc+=($?)
  elif [ -n "$kill_host" ]; then
    rc+=("$rc_other")
  else
    wait "${pids[$k]}" && rc+=(0) || rc+=($?)
  fi
done
echo "two_hosts: host0_rc=${rc[0]} host1_rc=${rc[1]}$summary"
[ "${rc[0]}" = 0 ] && [ "${rc[1]}" = 0 ]
