/** What every card may carry: a notice on top, and the calendar day its subscription states are judged on. */
import type { LifecycleDays } from '../domain/lifecycle.js';

type NoticeStyle = 'attention' | 'warning' | 'good' | 'accent';
export interface Notice {
  text: string;
  style: NoticeStyle;
}

/** The calendar day a subscription's state is judged on, and the configured day counts. */
export interface Today {
  today: string;
  lifecycle: LifecycleDays;
}
