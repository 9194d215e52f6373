#!/usr/bin/env bash
# Run the date-sensitive test files a second time with this process's clock shifted by 400 days
# (Debian's faketime), while PostgreSQL keeps the real time. A test or a query that compares the
# database's now() with the process's clock, or that needs "today" to be some particular day, fails
# here. docs/architecture.md ("Clocks") says which clock decides what.
#
#   bash scripts/ci/test-shifted-clock.sh [extra vitest args]   (SHIFT=-30d to shift the other way)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v faketime >/dev/null 2>&1; then
  echo "faketime is not installed: run 'sudo bash scripts/ci/install-packages.sh' (Debian package faketime)" >&2
  exit 1
fi

# Compliance hooks and checkpoints, leases and the fair claim, CI wait timers, budgets, the pause,
# the display delay and the effect and job queues around them.
files=(
  test/integration/change-hook.test.ts
  test/integration/compliance-verify.test.ts
  test/integration/compliance-cli.test.ts
  test/integration/compliance-api.test.ts
  test/integration/fair-scheduling.test.ts
  test/integration/pause-command.test.ts
  test/integration/label-to-draft-pr.test.ts
  test/integration/agent-step.test.ts
  test/integration/loop/no-ci.test.ts
  test/integration/loop/ci-loop.test.ts
  test/integration/agents/workspace.test.ts
  test/unit/workflow
  test/unit/compliance
  test/unit/engine
)

shift_by="${SHIFT:-+400d}"
echo "shifted clock: $(faketime -f "$shift_by" date -u +%FT%TZ) for the tests, $(date -u +%FT%TZ) for PostgreSQL"
# No coverage and no JSON report here: the main run's report is the one CI reads.
exec faketime -f "$shift_by" npx vitest run --reporter=default "${files[@]}" "$@"
