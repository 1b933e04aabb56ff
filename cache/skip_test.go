package cache

import (
	"os"
	"testing"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// skipped notes the tests skipped for a missing component; TestMain
// reports them when the tests end.
var skipped mirrortest.SkipLedger

func TestMain(m *testing.M) { os.Exit(mirrortest.RunReportingSkips(m, &skipped)) }
