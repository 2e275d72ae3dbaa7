/** A page of a list endpoint: its items and the cursor of the next page (null on the last). */
export interface Page<T> {
    readonly data: T[];
    readonly next_cursor: string | null;
}
/** The pages of a list, fetched one at a time as the caller asks for the next.
 *
 * Starts at `start` (a `next_cursor` kept from an earlier page) or at the first page; ends after
 * the page whose `next_cursor` is null. Each `for await` (or `next()`) fetches one page. */
export declare function pages<P extends Page<unknown>>(fetchPage: (cursor: string | undefined) => Promise<P>, start?: string | null): AsyncGenerator<P, void, undefined>;
