using System;
using System.Management.Automation;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// One word for draining across the module: -State takes Draining, and still accepts the words of earlier
    /// versions (Set-LbPoolMember -State Drain, Wait-LbPoolMember -State Drained) so old scripts keep working.
    /// The parameter's type stays the model enum, so syntax and tab completion show its names.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class DrainingWordAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            object? value = inputData is PSObject ps ? ps.BaseObject : inputData;
            return value is string word && (string.Equals(word.Trim(), "Drain", StringComparison.OrdinalIgnoreCase)
                                            || string.Equals(word.Trim(), "Drained", StringComparison.OrdinalIgnoreCase))
                ? "Draining"
                : inputData;
        }
    }
}
