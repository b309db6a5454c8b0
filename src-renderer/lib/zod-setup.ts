// The page's content policy forbids eval; without this zod probes for it (a console error) on first use.
import { z } from 'zod';

z.config({ jitless: true });
