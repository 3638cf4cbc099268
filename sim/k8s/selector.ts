import type { LabelSelector } from './objects.ts';

/**
 * Service selectors are equality-only maps (core/v1 ServiceSpec.selector, matched with
 * labels.ValidatedSetSelector in k8s.io/endpointslice/util/controller_utils.go getServicesForPod).
 * The EndpointSlice controller skips Services without a selector (pkg/controller/endpointslice/
 * endpointslice_controller.go syncService returns early on a nil selector); an empty map is dropped by
 * the API's omitempty encoding, so `hasSelector` treats absent and empty alike.
 */
export function hasSelector(selector: Readonly<Record<string, string>> | undefined): selector is Readonly<Record<string, string>> {
  if (!selector) return false;
  for (const _ in selector) return true;
  return false;
}

export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const k in selector) {
    if (labels === undefined || labels[k] !== selector[k]) return false;
  }
  return true;
}

/** The first selector key the labels do not satisfy, with what the pod has (undefined: label absent). */
export function selectorMismatch(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>> | undefined,
): { key: string; want: string; have: string | undefined } | undefined {
  for (const k of Object.keys(selector).sort()) {
    const have = labels?.[k];
    if (have !== selector[k]) return { key: k, want: selector[k]!, have };
  }
  return undefined;
}

/** apps/v1 LabelSelector (matchLabels AND matchExpressions), as metav1.LabelSelectorAsSelector reads it. */
export function labelSelectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (sel.matchLabels && !selectorMatches(sel.matchLabels, labels)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, e.key);
    const v = labels?.[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(v!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(v!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
