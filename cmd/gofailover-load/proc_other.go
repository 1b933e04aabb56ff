//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// errNoProc is returned where /proc is needed but this is not Linux.
var errNoProc = errors.New("memory measurements need Linux's /proc")

func setDeathSignal(*exec.Cmd) {}

// procMemory is a process's memory in bytes (see proc_linux.go).
type procMemory struct{ rss, hwm, anon, file, shmem int64 }

func readMemory(int) (procMemory, error)     { return procMemory{}, errNoProc }
func parseStatus([]byte) (procMemory, error) { return procMemory{}, errNoProc }
func readRSS(int, []byte) (int64, error)     { return 0, errNoProc }
func resetPeak(int) error                    { return errNoProc }
