package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// Size limits of answers. Zips and go.mod files have the limits the go
// command itself enforces (golang.org/x/mod/zip); lists get the go.mod
// limit; version information (.info, @latest) is a few hundred bytes, and
// gofailover refuses more than MaxInfoBytes of it (the go command would
// take 16 MiB), so that it is always checked in memory; checksum-database
// answers (lookups, tiles, the signed tree head) are a few kilobytes.
const (
	MaxZipBytes   = modzip.MaxZipFile
	MaxModBytes   = modzip.MaxGoMod
	MaxOtherBytes = modzip.MaxGoMod
	MaxInfoBytes  = 256 << 10
	MaxSumDBBytes = 1 << 20
)

// MaxBody is the longest answer to r that is accepted.
func (r *Request) MaxBody() int64 {
	switch r.Kind {
	case KindZip:
		return MaxZipBytes
	case KindMod:
		return MaxModBytes
	case KindInfo, KindLatest:
		return MaxInfoBytes
	case KindSumDB:
		return MaxSumDBBytes
	}
	return MaxOtherBytes
}

// BodyError reports an answer that cannot be what the request asked for.
type BodyError struct {
	// Path is the request path.
	Path string
	// Problem says what is wrong, in one line.
	Problem string
	// Err is the underlying error, if any.
	Err error
}

// Error describes the bad body.
func (e *BodyError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("answer to %s %s: %v", e.Path, e.Problem, e.Err)
	}
	return fmt.Sprintf("answer to %s %s", e.Path, e.Problem)
}

// Unwrap returns the underlying error.
func (e *BodyError) Unwrap() error { return e.Err }

// CheckBody checks a 200 answer to r, other than a zip (see CheckZip), the
// way the go command reads it, and stricter where a wrong answer would
// otherwise be cached:
//
//   - @v/list: every non-empty line starts with a valid semantic version (an
//     empty list is valid);
//   - .info and @latest: a JSON object whose Version is a valid version of
//     the module; for the .info of a canonical version, exactly that
//     version, as the go command requires;
//   - .mod: a go.mod file that golang.org/x/mod/modfile parses, with a
//     module directive;
//   - checksum-database answers: within MaxSumDBBytes (their content is
//     checked by the checksum verifier).
//
// Every answer must be within r.MaxBody().
func CheckBody(r *Request, data []byte) error {
	if int64(len(data)) > r.MaxBody() {
		return &BodyError{Path: r.Path, Problem: fmt.Sprintf("exceeds the %d-byte limit", r.MaxBody())}
	}
	switch r.Kind {
	case KindList:
		return checkList(r, bytes.NewReader(data))
	case KindInfo, KindLatest:
		return checkInfo(r, data)
	case KindMod:
		f, err := modfile.ParseLax("go.mod", data, nil)
		switch {
		case err != nil:
			return &BodyError{Path: r.Path, Problem: "is not a go.mod file", Err: err}
		case f.Module == nil:
			// What a proxy serves always has one: it writes "module
			// <path>" for a version without a go.mod file.
			return &BodyError{Path: r.Path, Problem: fmt.Sprintf("is not a go.mod file: no module directive (it starts %q)", clip(string(data)))}
		}
	case KindZip:
		return &BodyError{Path: r.Path, Problem: "is a zip: check it with CheckZip"}
	}
	return nil
}

// CheckBodyFile checks a 200 answer to r, other than a zip, in the file at
// path, as CheckBody checks one in memory: a list is read line by line,
// holding at most a few kilobytes; version information and checksum-database
// answers, which are small, and go.mod files, which modfile parses whole,
// are read into memory.
func CheckBodyFile(r *Request, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checking the answer to %s: %w", r.Path, err)
	}
	defer f.Close()
	if r.Kind == KindList {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("checking the answer to %s: %w", r.Path, err)
		}
		if st.Size() > r.MaxBody() {
			return &BodyError{Path: r.Path, Problem: fmt.Sprintf("exceeds the %d-byte limit", r.MaxBody())}
		}
		return checkList(r, f)
	}
	data, err := io.ReadAll(io.LimitReader(f, r.MaxBody()+1))
	if err != nil {
		return fmt.Errorf("checking the answer to %s: %w", r.Path, err)
	}
	return CheckBody(r, data)
}

// maxLineHead bounds how much of a list's line is looked at: its first
// field, a version, is far shorter.
const maxLineHead = 4 << 10

// checkList checks that every non-empty line of a list starts with a valid
// semantic version, the first of its fields as strings.Fields splits them
// (as the go command reads it), reading it in small pieces.
func checkList(r *Request, list io.Reader) error {
	br := bufio.NewReaderSize(list, 16<<10)
	for n := 1; ; n++ {
		head, err := lineHead(br)
		if f := strings.Fields(string(head)); len(f) > 0 && !semver.IsValid(f[0]) {
			return &BodyError{Path: r.Path, Problem: fmt.Sprintf("is not a version list: line %d is %q", n, clip(string(head)))}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking the answer to %s: %w", r.Path, err)
		}
	}
}

// lineHead reads one line of br and returns its first maxLineHead bytes,
// without the newline. It returns io.EOF with the last line.
func lineHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if room := maxLineHead - len(head); room > 0 {
			head = append(head, chunk[:min(len(chunk), room)]...)
		}
		switch err {
		case nil:
			return bytes.TrimSuffix(head, []byte("\n")), nil
		case bufio.ErrBufferFull:
			continue
		}
		return head, err
	}
}

// checkInfo checks a .info or @latest answer.
func checkInfo(r *Request, data []byte) error {
	var info struct{ Version string }
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&info); err != nil {
		return &BodyError{Path: r.Path, Problem: fmt.Sprintf("is not version information JSON (it starts %q)", clip(string(data))), Err: err}
	}
	if dec.More() {
		return &BodyError{Path: r.Path, Problem: "holds more than one JSON value"}
	}
	v := info.Version
	switch {
	case !semver.IsValid(v):
		return &BodyError{Path: r.Path, Problem: fmt.Sprintf("names %q, which is not a version", clip(v))}
	case r.Kind == KindInfo && r.Immutable && v != r.Version:
		return &BodyError{Path: r.Path, Problem: fmt.Sprintf("names version %q, not the %s asked for", clip(v), r.Version)}
	case r.Kind == KindInfo && r.Immutable:
		// Exactly what was asked for: whether that is a version of the
		// module is the asker's business, as for the go command.
		return nil
	}
	if err := module.Check(r.Module, v); err != nil {
		return &BodyError{Path: r.Path, Problem: fmt.Sprintf("names %q, which is not a version of %s", clip(v), r.Module), Err: err}
	}
	return nil
}

// CheckZip checks the zip answer to r in the file at path with
// golang.org/x/mod/zip's checks, whether or not it is verified against the
// checksum database: size limits, file names, one module root.
func CheckZip(r *Request, path string) error {
	if r.Kind != KindZip {
		return &BodyError{Path: r.Path, Problem: "is not a zip request"}
	}
	cf, err := modzip.CheckZip(module.Version{Path: r.Module, Version: r.Version}, path)
	if err == nil {
		err = cf.Err()
	}
	if err != nil {
		return &BodyError{Path: r.Path, Problem: "is not a valid module zip", Err: err}
	}
	return nil
}

// clip shortens s for a message: at most 64 bytes of it, on one line.
func clip(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
