package deadletter

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Export formats.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// CSVHeader is the fixed header row of a CSV export.
var CSVHeader = []string{
	"id", "failed_at", "tenant", "type", "queue", "task_id", "class", "category",
	"error_code", "error_message", "http_status", "attempts", "transaction_id",
	"client_transaction_id", "request_id", "endpoint_method", "endpoint_url", "resolution",
}

// Export writes the records matching f to w, newest first, and returns how
// many it wrote. format is FormatNDJSON (one record JSON per line, as Get
// returns it) or FormatCSV (CSVHeader, then one row per record). It streams
// page by page (see Each): memory stays constant whatever the count. Task
// payloads are never exported.
func (s *Store) Export(ctx context.Context, w io.Writer, f Filter, format string) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var write func(*Record) error
	var flush func() error
	switch format {
	case FormatNDJSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		write = func(r *Record) error { return enc.Encode(r) }
		flush = bw.Flush
	case FormatCSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write(CSVHeader); err != nil {
			return 0, fmt.Errorf("deadletter: export: %w", err)
		}
		write = func(r *Record) error { return cw.Write(csvRow(r)) }
		flush = func() error {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			return bw.Flush()
		}
	default:
		return 0, inputErr("format", format, "want ndjson or csv")
	}
	n := 0
	err := s.Each(ctx, f, func(r *Record) error {
		if err := write(r); err != nil {
			return err
		}
		n++
		if n%EachPageSize == 0 {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return n, fmt.Errorf("deadletter: export: %w", err)
	}
	return n, nil
}

func csvRow(r *Record) []string {
	row := []string{
		r.ID, r.FailedAt.UTC().Format(time.RFC3339Nano), r.Tenant, r.Type, r.Queue, r.TaskID,
		r.Class, r.Category, strconv.Itoa(r.ErrorCode), r.ErrorMessage, strconv.Itoa(r.HTTPStatus),
		strconv.Itoa(r.Attempts), r.TransactionID, r.ClientTransactionID, r.RequestID,
		r.Endpoint.Method, r.Endpoint.URL, r.Resolution,
	}
	for i, c := range row {
		row[i] = csvCell(c)
	}
	return row
}

// csvCell neutralises a cell a spreadsheet would run as a formula (CSV
// injection, OWASP): a value starting with '=', '+', '-', '@', a tab or a
// carriage return gets a leading apostrophe. Error messages come from Vlens
// and echo user input, so they are not trusted.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
