// Package deadletter is the dead-letter store of vlensq: tasks that failed
// for good (a permanent Vlens error, or a transient one that used up its
// attempts) are kept here as [Record]s with everything Vlens support asks
// for, outliving asynq's archive limits (10,000 tasks / 90 days per queue,
// trimmed silently).
//
// # Records
//
// [Store.Add] writes a record and the original task payload, idempotently
// per asynq task id. [Store.Get], [Store.GetByTaskID], [Store.List],
// [Store.Count], [Store.Stats], [Store.Each] and [Store.Export] read them;
// [Ticket] renders the text of a Vlens support ticket. The payload is kept
// apart and only [Store.Requeue] reads it: it is never listed or exported.
//
// # Redis layout
//
// Every key starts with the hash tag "{prefix}" (default "{vlensq:dlq}"), so
// all keys live in one Redis Cluster slot and the Lua scripts and
// transactions that touch several of them work on a cluster too.
//
//	{vlensq:dlq}:r:<id>            STRING  record JSON
//	{vlensq:dlq}:p:<id>            STRING  original task payload (requeue only)
//	{vlensq:dlq}:task:<task_id>    STRING  record id of an asynq task (idempotent Add)
//	{vlensq:dlq}:all               ZSET    every record id, scored by failed_at (unix ms)
//	{vlensq:dlq}:tenant:<tenant>   ZSET    records of a tenant, same score
//	{vlensq:dlq}:code:<code>       ZSET    records by error_code (0: no code)
//	{vlensq:dlq}:category:<cat>    ZSET    records by category
//	{vlensq:dlq}:type:<type>       ZSET    records by task type
//	{vlensq:dlq}:class:<class>     ZSET    records by class
//	{vlensq:dlq}:tenant_code:<code>:<tenant>
//	                               ZSET    records by tenant and error_code together (the
//	                                       usual support query, answered without ZMSCORE)
//	{vlensq:dlq}:exhausted         ZSET    records with retries_exhausted
//	{vlensq:dlq}:values:<dim>      SET     the values of a dimension (tenant, code,
//	                                       category, type, class, tenant_code) that have
//	                                       records, for Stats
//	{vlensq:dlq}:trimming          ZSET    ids claimed by a running count trim, scored by claim time
//
// A record and all its index entries are written and removed by one Lua
// script each, so the indexes never disagree with the records.
//
// # Listing at scale
//
// [Store.List] stays fast at a million records: it walks the smallest index
// the [Filter] needs (chosen by ZCARD) newest-first with ZREVRANGEBYSCORE in
// growing batches, checks the other indexes with ZMSCORE (Redis ≥ 6.2), and
// reads the page with one MGET. The cursor is the "score:id" of the last
// record returned: keyset pagination, stable under concurrent inserts.
//
// # Retention
//
// Records are kept by age (Config.MaxAge, counted from failed_at) and by
// count (Config.MaxCount, oldest first). [Store.Add] applies retention every
// Config.TrimEvery adds or Config.TrimInterval, bounded by
// Config.TrimBudget; [Store.Trim] applies it fully. Trimming is never
// silent: Config.OnTrim receives every removal with its reason.
//
// # Requeue and purge
//
// [Store.Requeue] puts records back on their queues through a caller-supplied
// enqueue function, throttled (records per second), with a dry run, and
// idempotent per record: the new task id is "<record id>:rq<n>" and each
// requeue is recorded on the record. [Store.Purge] deletes by ids, filter or
// age, with a dry run.
package deadletter
