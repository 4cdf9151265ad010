package outcome

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrCallbackTarget is returned (wrapped) when a callback URL is refused:
// plain http without CallbackConfig.AllowHTTP, or a target address that is
// loopback, private, link-local, multicast or unspecified without
// CallbackConfig.AllowPrivate. Such a delivery is not retried. Test with
// errors.Is.
var ErrCallbackTarget = errors.New("callback target refused")

// blockedPrefixes are address ranges outside the public internet besides
// those netip classifies (loopback, private, link-local, multicast,
// unspecified): "this network", carrier-grade NAT, IETF protocol
// assignments, benchmarking, reserved, and NAT64's well-known prefix.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// checkAddr refuses an address that is not publicly routable.
func checkAddr(a netip.Addr) error {
	a = a.Unmap()
	bad := a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified()
	for _, p := range blockedPrefixes {
		bad = bad || p.Contains(a)
	}
	if bad {
		return fmt.Errorf("%w: %s is a loopback, private, link-local or reserved address (allow with --callback-allow-private)", ErrCallbackTarget, a)
	}
	return nil
}

// checkURL applies the scheme and literal-address rules to a callback URL
// before any connection.
func (c CallbackConfig) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrCallbackTarget, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !c.AllowHTTP {
			return fmt.Errorf("%w: plain http is not allowed, use https (allow with --callback-allow-http)", ErrCallbackTarget)
		}
	default:
		return fmt.Errorf("%w: scheme %q, want https", ErrCallbackTarget, u.Scheme)
	}
	if c.AllowPrivate {
		return nil
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return checkAddr(a)
	}
	return nil
}

// control runs at dial time, on the address DNS actually returned: a name
// that resolves (or re-resolves: DNS rebinding) to a private address is
// refused there.
func control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrCallbackTarget, address)
	}
	return checkAddr(ap.Addr())
}

// newCallbackClient is the default HTTP client of callback delivery: it
// follows no redirect (a 3xx answer is the endpoint's answer, and a
// redirect could point anywhere), and unless allowPrivate its dialer
// refuses non-public addresses.
func newCallbackClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = control
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would dial the target for us, unchecked
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
