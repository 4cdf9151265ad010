package vlenstest

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/vlensq/vlensq/vlens"
)

// DemoTenants returns two tenants with made-up, non-secret credentials for
// the demo, the sandbox and local runs. Each call returns fresh values.
func DemoTenants() []vlens.Tenant {
	return []vlens.Tenant{
		{Name: "demo-bank", APIKey: "demo-bank-api-key", Username: "admin@demo-bank.example", Password: "demo-bank-password"},
		{Name: "demo-fintech", APIKey: "demo-fintech-api-key", Username: "admin@demo-fintech.example", Password: "demo-fintech-password"},
	}
}

// SampleImage returns a small JPEG, base64-encoded as Vlens expects, that the
// fake accepts as an ID image or a liveness frame. Different n give
// different images (liveness needs three distinct frames); the same n gives
// the same image.
func SampleImage(n int) string {
	const size = 16
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			img.Set(x, y, color.RGBA{R: uint8(n * 37), G: uint8(n*11 + x*8), B: uint8(n>>8 + y*8), A: 255})
		}
	}
	var buf bytes.Buffer
	// Encoding an in-memory RGBA image into a buffer cannot fail.
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
