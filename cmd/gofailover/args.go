package main

import (
	"flag"
	"fmt"
	"io"
)

// loadConfigArgs is loadConfig for a command line whose flags may come
// before, after or between its arguments (`gofailover probe URL --json`).
// It returns the configuration and the arguments, in order. An error
// from the flag package is returned as it is; a bad setting is a
// configError.
func loadConfigArgs(fs *flag.FlagSet, args, environ []string) (*Config, []string, error) {
	// A scratch set with the same flags tells flags from arguments; then
	// loadConfig parses the flags alone into fs.
	scratch := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	scratch.SetOutput(io.Discard)
	scratch.Usage = func() {}
	fs.VisitAll(func(f *flag.Flag) {
		if isBoolFlag(f) {
			scratch.Bool(f.Name, false, f.Usage)
		} else {
			scratch.String(f.Name, "", f.Usage)
		}
	})
	for _, s := range settings() {
		scratch.String(s.flag, "", s.usage)
	}
	flagArgs, positional, err := splitArgs(scratch, args)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(fs, flagArgs, environ)
	return cfg, positional, err
}

// isBoolFlag reports whether f takes no value, as a bool flag.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseArgs parses args with fs, letting flags follow arguments, and
// returns the arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	_, positional, err := splitArgs(fs, args)
	return positional, err
}

// splitArgs parses args with fs, letting flags follow arguments, and
// returns the flags (as given) and the arguments, each in order.
// Everything after "--" is an argument.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(flags, args[:consumed-1]...), append(positional, rest...), nil
		}
		flags = append(flags, args[:consumed]...)
		if len(rest) == 0 {
			return flags, positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// noArguments is the error for a command that takes none, given some.
func noArguments(positional []string) error {
	if len(positional) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected argument %q", positional[0])
}
