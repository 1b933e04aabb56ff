package alert

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// requirePromtoolEnv makes TestPrometheusRules fail, rather than skip,
// without promtool; .ci/run sets it.
const requirePromtoolEnv = "GOFAILOVER_REQUIRE_PROMTOOL"

// promRulesDir holds the Prometheus rules file equivalent to the built-in
// rules, and its promtool unit tests.
var promRulesDir = filepath.Join("..", "..", "deploy", "prometheus")

// TestPrometheusRules checks the shipped Prometheus rules file with
// promtool (Debian's prometheus package): `promtool check rules` and its
// unit tests, `promtool test rules`. Without promtool it skips loudly, or
// fails under GOFAILOVER_REQUIRE_PROMTOOL=1.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		mirrortest.MissingComponent(t, &skipped, requirePromtoolEnv, "the check of "+promRulesDir,
			"promtool is not in PATH (apt-get install prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "gofailover-rules.yml"},
		{"test", "rules", "gofailover-rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = promRulesDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPrometheusRulesCoverBuiltins: the rules file has an equivalent of
// every built-in rule, and uses no metric that gofailover renamed.
func TestPrometheusRulesCoverBuiltins(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(promRulesDir, "gofailover-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := string(b)
	for rule, alert := range map[Rule]string{
		AllUpstreamsDown:    "GofailoverAllUpstreamsDown",
		UpstreamDown:        "GofailoverUpstreamDown",
		UpstreamQuarantined: "GofailoverUpstreamQuarantined",
		ErrorRateHigh:       "GofailoverUpstreamErrorRate",
		LatencyHigh:         "GofailoverUpstreamSlow",
		SharedStoreDown:     "GofailoverSharedStoreDown",
	} {
		if !strings.Contains(rules, "- alert: "+alert+"\n") || !strings.Contains(rules, "# "+string(rule)+":") {
			t.Errorf("no %s rule standing for %s", alert, rule)
		}
	}
	if strings.Contains(rules, `quantile="`) {
		t.Error(`the rules use a quantile label; the latency gauges are gofailover_upstream_latency_p50/p95/p99_seconds`)
	}
}
