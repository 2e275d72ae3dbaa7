// Pages of a list, one at a time, with Previous and Next. The pages come from an async iterator
// (the web SDK's lists: one request per page); pages already seen are kept for Previous.

export class Pager {
  constructor({render, prev, next, status, onError}) {
    Object.assign(this, {render, prev, next, status, onError});
    this.pages = [];
    this.index = -1;
    this.generation = 0;
    prev.addEventListener('click', () => this.back());
    next.addEventListener('click', () => this.forward().catch(onError));
  }

  /** Show the first page of a new list (new filters, or fresh data after a change). */
  async start(iterator) {
    this.generation += 1;
    Object.assign(this, {iterator, pages: [], index: -1});
    await this.forward();
  }

  async forward() {
    if (this.index + 1 >= this.pages.length) {
      const generation = this.generation;
      this.next.disabled = true;
      let step;
      try {
        step = await this.iterator.next();
      } finally {
        if (generation === this.generation) this.next.disabled = false;
      }
      const {value, done} = step;
      if (generation !== this.generation) return; // a newer list replaced this one meanwhile
      if (done) return this.show();
      this.pages.push(value);
    }
    this.index += 1;
    this.show();
  }

  back() {
    if (this.index > 0) {
      this.index -= 1;
      this.show();
    }
  }

  show() {
    const page = this.pages[this.index] || {data: [], next_cursor: null};
    this.render(page.data);
    const last = this.index === this.pages.length - 1 && !page.next_cursor;
    this.prev.disabled = this.index <= 0;
    this.next.disabled = last;
    this.status.textContent = page.data.length ? `Page ${this.index + 1}` : 'Nothing to show';
  }
}
