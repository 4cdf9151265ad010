package tenancy

import "time"

// ParkAt is the time a held task is scheduled at in asynq: far enough that
// asynq never releases it by itself (Asynqmon shows held tasks as scheduled
// for 2100-01-01). The dispatcher moves a parked task to pending; a task
// asynq releases early anyway (an operator's "Run") reaches the handler
// without a grant and is held again.
var ParkAt = time.Unix(parkFloor, 0).UTC()

// parkFloor is ParkAt in Unix seconds: a scheduled or retry score at or
// above it marks a parked task.
const parkFloor = 4102444800

// GrantField is the field of asynq's task hash in which a dispatch leaves
// its grant: the due time (Unix ms) of the hold entry it came from. The
// handler reads and deletes it when the task starts.
const GrantField = "vlensq_grant"

func holdKey(queue, tenant string) string { return "vlensq:{" + queue + "}:fair:h:" + tenant }
func dueKey(queue string) string          { return "vlensq:{" + queue + "}:fair:due" }

// asynq v0.26's own keys (internal/base); the scripts move tasks between
// them exactly as asynq's forwarder does. TestDispatchedTaskRuns checks the
// layout against the real asynq.
func asynqPrefix(queue string) string      { return "asynq:{" + queue + "}:" }
func asynqTaskKey(queue, id string) string { return asynqPrefix(queue) + "t:" + id }

// TaskKey is asynq's hash of task id in queue, where the grant lives.
func TaskKey(queue, id string) string { return asynqTaskKey(queue, id) }
