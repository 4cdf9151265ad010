package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Row is one measured figure, with its bare-asynq counterpart when there is
// one and the target it is held to.
type Row struct {
	// Scenario is the scenario name (see Scenarios).
	Scenario string `json:"scenario"`
	// Metric names the figure, e.g. "tasks/s @ 0s".
	Metric string `json:"metric"`
	// Unit is the unit of VlensQ and Bare, e.g. "tasks/s", "MB", "ms".
	Unit string `json:"unit"`
	// VlensQ is vlensq's figure.
	VlensQ float64 `json:"vlensq"`
	// Bare is bare asynq's figure; 0 when there is no baseline.
	Bare float64 `json:"bare,omitempty"`
	// Target describes the target, e.g. "≥ 0.9× bare"; empty for
	// informational rows.
	Target string `json:"target,omitempty"`
	// Pass reports that the target is met (meaningless without Target).
	Pass bool `json:"pass"`
	// Note adds context: noise, what was measured.
	Note string `json:"note,omitempty"`
}

// Ratio is VlensQ/Bare, 0 without a baseline.
func (r Row) Ratio() float64 {
	if r.Bare == 0 {
		return 0
	}
	return r.VlensQ / r.Bare
}

// Report is the result of Run.
type Report struct {
	// Machine describes where the run happened.
	Machine string `json:"machine"`
	// Rows are the figures in scenario order.
	Rows []Row `json:"rows"`
}

// Failed returns the rows whose target was missed.
func (r *Report) Failed() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Target != "" && !row.Pass {
			out = append(out, row)
		}
	}
	return out
}

// WriteTable prints the report as an aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %s\n\n", r.Machine)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tmetric\tvlensq\tbare asynq\tratio\ttarget\tresult\tnote")
	for _, row := range r.Rows {
		bare, ratio := "-", "-"
		if row.Bare != 0 {
			bare = formatValue(row.Bare, row.Unit)
			ratio = fmt.Sprintf("%.2f×", row.Ratio())
			if row.Ratio() < 0.01 {
				ratio = "<0.01×"
			}
		}
		result := ""
		if row.Target != "" {
			result = "FAIL"
			if row.Pass {
				result = "ok"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Scenario, row.Metric,
			formatValue(row.VlensQ, row.Unit), bare, ratio, row.Target, result, row.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatValue(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPU (GOMAXPROCS %d), %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.Version(), cpuModel())
}
