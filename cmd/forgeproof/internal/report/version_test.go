package report_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// TestVersion: the JSON report and the SARIF log name the version of
// forgeproof that made them.
func TestVersion(t *testing.T) {
	r := sample()
	r.Version = "v1.2.0+3f2c1a9b8e7d"
	r.Finish(0, 0)
	var j, s bytes.Buffer
	if err := report.WriteJSON(&j, r); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteSARIF(&s, r); err != nil {
		t.Fatal(err)
	}
	var got struct{ Version string }
	json.Unmarshal(j.Bytes(), &got)
	if got.Version != r.Version {
		t.Errorf("JSON report version %q; want %q", got.Version, r.Version)
	}
	var sarif struct {
		Runs []struct {
			Tool struct{ Driver struct{ Version string } }
		}
	}
	json.Unmarshal(s.Bytes(), &sarif)
	if len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Version != r.Version {
		t.Errorf("SARIF driver version %+v; want %q", sarif.Runs, r.Version)
	}
}
