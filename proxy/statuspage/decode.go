package statuspage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxReportBytes bounds the JSON that DecodeReport reads.
const MaxReportBytes = 32 << 20

// DecodeReport reads one Report in the JSON form that /status.json serves.
// Unknown fields are ignored, so that older clients read newer servers; a
// body larger than MaxReportBytes, anything after the JSON value, or a
// value that is not a JSON object is an error.
func DecodeReport(r io.Reader) (Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxReportBytes+1))
	if err != nil {
		return Report{}, fmt.Errorf("statuspage: reading report: %w", err)
	}
	if len(data) > MaxReportBytes {
		return Report{}, fmt.Errorf("statuspage: report is larger than %d bytes", MaxReportBytes)
	}
	var rep *Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return Report{}, fmt.Errorf("statuspage: decoding report: %w", err)
	}
	if rep == nil {
		return Report{}, errors.New("statuspage: decoding report: null is not a report")
	}
	return *rep, nil
}

// encodeReport returns the JSON of r, as /status.json serves it.
func encodeReport(r Report) ([]byte, error) {
	data, err := json.MarshalIndent(sanitized(r), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("statuspage: encoding report: %w", err)
	}
	return append(data, '\n'), nil
}
