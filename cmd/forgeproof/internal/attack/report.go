package attack

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes results as one table per victim (case, expected,
// observed effect, verdict) and returns the numbers of passed and failed
// cases. Skipped cases count as neither.
func WriteTable(w io.Writer, results []Result) (passed, failed int) {
	var victim string
	var tw *tabwriter.Writer
	flush := func() {
		if tw != nil {
			tw.Flush()
			fmt.Fprintln(w)
		}
	}
	for _, r := range results {
		if r.Victim != victim || tw == nil {
			flush()
			victim = r.Victim
			fmt.Fprintf(w, "victim %s\n", victim)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "case\texpected\tobserved\tverdict")
		}
		verdict := "FAIL"
		switch {
		case r.Skipped != "":
			verdict = "skip"
		case r.Pass:
			verdict = "pass"
			passed++
		default:
			failed++
		}
		got := r.Got
		if r.Skipped != "" {
			got = r.Skipped
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Case, r.Want, oneLine(got), verdict)
	}
	flush()
	return passed, failed
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
