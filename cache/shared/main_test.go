package shared_test

import (
	"os"
	"testing"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// skipped notes the tests skipped for want of versitygw.
var skipped mirrortest.SkipLedger

func TestMain(m *testing.M) { os.Exit(mirrortest.RunReportingSkips(m, &skipped)) }
