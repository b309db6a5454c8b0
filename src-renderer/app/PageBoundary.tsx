// A page that fails to render (or to load its code: the node went away mid-navigation) shows what
// happened and a way out, instead of a blank window.
import { Component, type ReactNode } from 'react';
import { ErrorNotice } from './common.js';

interface State {
  error: Error | null;
}

export class PageBoundary extends Component<{ page: string; children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidUpdate(previous: { page: string }): void {
    // Another page: try again.
    if (previous.page !== this.props.page && this.state.error) this.setState({ error: null });
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    const chunk = /dynamically imported module|Importing a module script failed|error loading dynamically/i.test(error.message);
    return (
      <div className="page-body">
        <ErrorNotice
          title={chunk ? "Couldn't load this page" : 'This page stopped working'}
          message={chunk ? 'LLM Manager did not answer. Check that it is still running, then reload.' : `${error.message.split('\n')[0]} Reloading the window usually helps.`}
          retry={() => window.location.reload()}
        />
      </div>
    );
  }
}
