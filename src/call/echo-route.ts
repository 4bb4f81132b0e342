import type { MediaSession } from '../media';
import { AnswerRoute } from './answer-route';

/**
 * The `echo` route: answers like {@link AnswerRoute} and sends the caller's own audio back, frame for frame (each
 * 20 ms received in one media tick goes out in the next). A bridge of the leg with itself, so it costs no copy or
 * allocation beyond the media session's own work; useful to check a trunk's audio path and latency end to end.
 */
export class EchoRoute extends AnswerRoute {
  protected override onMedia(_callId: string, media: MediaSession): void {
    media.connect(media);
  }
}
