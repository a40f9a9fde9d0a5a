package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/omni-retail/omni/workflows"
)

// reportHistory prints how many events one complete order's workflow
// history holds so far (its current run), and of which kinds: the embedded
// server's work per order grows with them.
func (b *bench) reportHistory(orderID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: b.temporalAddr, Namespace: b.namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		fmt.Printf("history events        unknown (%v)\n", err)
		return
	}
	defer c.Close()
	it := c.GetWorkflowHistory(ctx, workflows.WorkflowID(orderID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	total := 0
	kinds := map[string]int{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			fmt.Printf("history events        unknown (%v)\n", err)
			return
		}
		total++
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			kinds["workflow tasks"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			kinds["updates"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			kinds["signals"]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			kinds["activities"]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			kinds["markers (local activities, versions)"]++
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			kinds["timers"]++
		}
	}
	var parts []string
	for _, k := range []string{"workflow tasks", "updates", "signals", "activities", "markers (local activities, versions)", "timers"} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	fmt.Printf("history events        %d   (order %s, so far: %s)\n", total, orderID, strings.Join(parts, ", "))
}
