package metrics_test

import (
	"io"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// writeExposition writes the named families of reg in the text format.
func writeExposition(w io.Writer, reg *prometheus.Registry, families []string) error {
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if slices.Contains(families, mf.GetName()) {
			if err := enc.Encode(mf); err != nil {
				return err
			}
		}
	}
	return nil
}
