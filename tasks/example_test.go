package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// A producer enqueues the front of an ID card for verification. The image
// goes to the blob store; the task carries only a reference. The task id
// makes the enqueue idempotent.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: redistest.DBTasks})
	defer rdb.Close()

	// In production: vlens.LoadTenants(os.Getenv("VLENSQ_TENANTS")).
	tenants, err := vlens.NewTenantSet(vlens.Tenant{Name: "acme", APIKey: "key", Username: "svc", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	client, err := tasks.NewClient(rdb, tasks.ClientConfig{
		Tenants:      tenants,
		Blobs:        tasks.NewBlobStore(rdb, 0),
		DefaultQueue: "kyc",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 ...the camera's bytes...")
	payload := &tasks.Payload{
		Tenant:        "acme",
		User:          "user-1842",
		TransactionID: tasks.TextID("5f0c2a9e-6a43-4bde-9a55-0d3c1b8e7f21"),
		Image:         tasks.ImageBytes(jpeg),
	}
	id := "onboarding-1842-front-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	info, err := client.Enqueue(ctx, tasks.TypeVerifyIDFront, payload, tasks.EnqueueOptions{ID: id})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("enqueued", info.Type, "on queue", info.Queue)
	fmt.Println("image bytes in the asynq payload:", strings.Contains(string(info.Payload), payload.Image.Inline))

	_, err = client.Enqueue(ctx, tasks.TypeVerifyIDFront, payload, tasks.EnqueueOptions{ID: id})
	fmt.Println("second enqueue is a duplicate:", errors.Is(err, tasks.ErrDuplicateID))

	payload.Image = tasks.InlineImage("not base64!")
	_, err = client.Enqueue(ctx, tasks.TypeVerifyIDFront, payload, tasks.EnqueueOptions{})
	fmt.Println(err)

	// Output:
	// enqueued verify:id_front on queue kyc
	// image bytes in the asynq payload: false
	// second enqueue is a duplicate: true
	// payload.image: not valid base64 (at byte 3)
}
