// Command vlensq is the vlensq job processor: worker, producer CLI,
// dead-letter tools, fake Vlens sandbox, dashboard and demo.
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "vlensq:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// cobra's own errors (unknown flag, missing argument) are usage errors.
	if isCobraUsageError(err) {
		return 2
	}
	return 1
}

// exitError carries an exit code with the error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr is a usage or bad-input error: exit code 2.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// badInput wraps err as bad input (exit code 2).
func badInput(err error) error { return &exitError{code: 2, err: err} }

func isCobraUsageError(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	envErrs = nil
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "vlensq",
		Short: "Job processor for the Vlens eKYC API",
		Long: `vlensq queues Vlens identity-verification and business tasks in Redis (asynq), calls Vlens, classifies every answer, retries what is transient and dead-letters what is not.

Least privilege: only worker (and sandbox, demo) reads the tenants' Vlens secrets. dashboard and dlq
need only VLENSQ_REDIS; enqueue and session put need VLENSQ_REDIS and the tenants' names, never their
secrets. Each command's --help says what it needs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	g.bind(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		g.logLevelSet = cmd.Flags().Changed("log-level") || os.Getenv("VLENSQ_LOG_LEVEL") != ""
		g.tenantsSet = cmd.Flags().Changed("tenants") || os.Getenv("VLENSQ_TENANTS") != ""
		if len(envErrs) > 0 {
			return badInput(errors.Join(envErrs...))
		}
		return nil
	}
	root.AddCommand(
		newWorkerCmd(g), newEnqueueCmd(g), newSessionCmd(g), newDLQCmd(g),
		newSandboxCmd(g), newDemoCmd(g), newDashboardCmd(g), newBenchCmd(g), newTenantsCmd(g),
	)
	return root
}
