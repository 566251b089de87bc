import { createHmac, randomBytes } from 'node:crypto';

/**
 * Client IPs are personal data (CNIL): they are replaced by a keyed hash before anything is logged.
 * The key is random, kept only in memory and replaced every UTC day, so pseudonyms link requests
 * within a day (enough to spot abuse) but not across days or restarts, and cannot be reversed.
 */
export class IpPseudonymizer {
  private day = '';
  private key = Buffer.alloc(0);
  constructor(private readonly clock: () => Date = () => new Date()) {}

  pseudonym(ip: string): string {
    const today = this.clock().toISOString().slice(0, 10);
    if (today !== this.day) {
      this.day = today;
      this.key = randomBytes(32);
    }
    return `ip_${createHmac('sha256', this.key).update(ip).digest('base64url').slice(0, 16)}`;
  }
}
