// Package mirrortest is gofailover's test-support library, in the spirit of
// net/http/httptest. It owns everything a test needs to stand in for the
// outside world, hermetically, on 127.0.0.1:
//
//   - fixture Go modules ([Module]): loaded from the repository's
//     testdata/modules trees ([LoadModules], [FindTestdata]), built from
//     in-memory files ([NewModule]) or synthesized at a chosen zip size for
//     benchmarks ([SyntheticModule]), and altered copies of them as a
//     compromised mirror would serve ([Tampered]);
//   - a checksum database ([SumDB]) that knows the go.sum lines of those
//     modules and signs its tree with a freshly generated key, and forks of
//     it signed with the same key that vouch for altered modules
//     ([SumDB.Fork]);
//   - upstream module mirrors ([Mirror]) speaking the GOPROXY protocol, also
//     serving the database under /sumdb/<name>/, whose behaviour can be
//     switched at run time to one of several faults ([Fault]);
//   - a runner for the real go command with a fully hermetic environment
//     ([GoEnv], [RunGo], [ScratchModule]);
//   - the one way a test says a real component it needs is missing
//     ([MissingComponent]: skip loudly, or fail under a GOFAILOVER_REQUIRE_
//     variable), and the end-of-run report of such skips ([SkipLedger],
//     [RunReportingSkips]), which each package keeps in a variable of its
//     own test files.
//
// Nothing in this package reaches the network beyond the loopback servers it
// starts, and it keeps no package-level mutable state.
package mirrortest
